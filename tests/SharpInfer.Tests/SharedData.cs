namespace SharpInfer.Tests;

/// <summary>
/// Locates the test data in <c>../shared</c> beside the repository (or <c>SHARPINFER_SHARED</c>). A missing file
/// fails the test with its path: data is never optional.
/// </summary>
public static class SharedData
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>The repository root (the folder holding SharpInfer.slnx).</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !System.IO.File.Exists(Path.Combine(dir.FullName, "SharpInfer.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("cannot find the repository root (SharpInfer.slnx) above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The shared data folder.</summary>
    public static string Root => RootPath.Value;

    private static string FindRoot()
    {
        string? env = Environment.GetEnvironmentVariable("SHARPINFER_SHARED");
        string root = env ?? Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"test data folder not found: {root} (expected ../shared beside the repository)");
        return root;
    }

    /// <summary>Absolute path of a file under shared/, which must exist.</summary>
    public static string File(string relative)
    {
        string path = Path.Combine(Root, relative);
        if (!System.IO.File.Exists(path)) throw new FileNotFoundException($"test data file missing: {path}", path);
        return path;
    }

    /// <summary>The real stories260K model.</summary>
    public static string Stories => File("models/stories260K.gguf");

    /// <summary>A synthetic llama model of the given type suffix (F32, Q4_0, Q4_K_S …).</summary>
    public static string Synth(string type) => File($"models/synthetic/synth-llama-{type}.gguf");

    /// <summary>Every GGUF under models/ and vocab/.</summary>
    public static IEnumerable<string> AllGgufFiles() =>
        Directory.EnumerateFiles(Path.Combine(Root, "models"), "*.gguf", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(Root, "vocab"), "*.gguf"))
            .OrderBy(p => p, StringComparer.Ordinal);

    /// <summary>The type suffixes of the synthetic llama files with dequantization references.</summary>
    public static readonly string[] DequantReferenceTypes =
        ["F16", "BF16", "IQ4_NL", "Q2_K", "Q3_K_S", "Q4_0", "Q4_1", "Q4_K_S", "Q5_0", "Q5_1", "Q5_K_S", "Q6_K", "Q8_0"];
}
