using SharpInfer.Gguf;

namespace SharpInfer.Hub;

/// <summary>A GGUF file in the model folder, as <c>sharpinfer list</c> shows it.</summary>
/// <param name="Name">Its path under the folder (<c>owner/repo/file.gguf</c> for pulled models).</param>
/// <param name="Path">Its full path.</param>
/// <param name="Bytes">File size.</param>
/// <param name="Architecture">general.architecture (null when the file cannot be read).</param>
/// <param name="Type">The tensor type holding most of the weights (or general.file_type's name).</param>
/// <param name="ContextLength">{arch}.context_length (null when absent).</param>
/// <param name="Error">Why the file could not be read, or null.</param>
public sealed record LocalModel(string Name, string Path, long Bytes, string? Architecture, string? Type, long? ContextLength, string? Error);

/// <summary>
/// The local model folder: <c>$SHARPINFER_MODELS</c>, or <c>sharpinfer/models</c> under the user's cache folder
/// (<c>$XDG_CACHE_HOME</c> or <c>~/.cache</c>; the local application data folder on Windows). Pulled models live at
/// <c>owner/repo/FILE</c> beneath it, so <c>-m owner/repo</c> finds them again.
/// </summary>
public sealed class ModelStore(string root)
{
    /// <summary>The environment variable that moves the folder.</summary>
    public const string RootVariable = "SHARPINFER_MODELS";

    /// <summary>The folder.</summary>
    public string Root { get; } = System.IO.Path.GetFullPath(root);

    /// <summary>The store at the folder the environment names (see the class summary).</summary>
    public static ModelStore Default() => new(DefaultRoot());

    /// <summary>The folder the environment names.</summary>
    public static string DefaultRoot()
    {
        if (Environment.GetEnvironmentVariable(RootVariable) is { Length: > 0 } configured) return configured;
        string cache = OperatingSystem.IsWindows()
            ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
            : Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return System.IO.Path.Combine(cache, "sharpinfer", "models");
    }

    /// <summary>Where a pulled file of <paramref name="reference"/> (with its file name) is kept.</summary>
    public string PathFor(ModelReference reference)
    {
        if (reference.FileName is null) throw new ArgumentException($"{reference} names no file");
        return System.IO.Path.Combine([Root, reference.Owner, reference.Repository, .. reference.FileName.Split('/')]);
    }

    /// <summary>
    /// The file a <c>-m</c> argument means: an existing file as given; else a pulled model named <c>owner/repo</c>
    /// (its one GGUF file), <c>owner/repo:FILE</c> or <c>owner/repo/FILE</c>; else the argument unchanged (so the
    /// caller's "file not found" names it). Throws <see cref="ArgumentException"/> when <c>owner/repo</c> holds several
    /// GGUF files.
    /// </summary>
    public string Resolve(string model)
    {
        if (File.Exists(model) || !ModelReference.TryParse(model, out var reference)) return model;
        if (reference!.FileName is not null)
        {
            string path = PathFor(reference);
            return File.Exists(path) ? path : model;
        }
        string folder = System.IO.Path.Combine(Root, reference.Owner, reference.Repository);
        if (!Directory.Exists(folder)) return model;
        var files = Directory.EnumerateFiles(folder, "*.gguf", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        if (files.Count == 1) return files[0];
        if (files.Count == 0) return model;
        var names = files.Take(8).Select(f => System.IO.Path.GetRelativePath(folder, f).Replace('\\', '/'));
        throw new ArgumentException($"{reference} holds {files.Count} GGUF files; name one as {reference}:FILE ({string.Join(", ", names)}{(files.Count > 8 ? ", …" : "")})");
    }

    /// <summary>Every GGUF file under the folder (downloads in progress excluded), with what its header says.</summary>
    public IReadOnlyList<LocalModel> List()
    {
        if (!Directory.Exists(Root)) return [];
        return Directory.EnumerateFiles(Root, "*.gguf", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(Describe)
            .ToList();
    }

    private LocalModel Describe(string path)
    {
        string name = System.IO.Path.GetRelativePath(Root, path).Replace('\\', '/');
        long bytes = new FileInfo(path).Length;
        try
        {
            using var file = GgufFile.Open(path);
            var metadata = file.Metadata;
            string? arch = metadata.TryGetString("general.architecture");
            long? context = arch is not null && metadata.Find($"{arch}.context_length") is not null ? metadata.GetInt64($"{arch}.context_length") : null;
            string? type = file.Tensors.Where(t => t.Rank >= 2).GroupBy(t => t.Type).OrderByDescending(g => g.Sum(t => t.ByteSize)).Select(g => g.Key.ToString()).FirstOrDefault();
            return new LocalModel(name, path, bytes, arch, type, context, null);
        }
        catch (Exception e) when (e is IOException or GgufFormatException or UnauthorizedAccessException or InvalidOperationException or InvalidCastException or OverflowException)
        {
            return new LocalModel(name, path, bytes, null, null, null, Files.SafeText.Line(e.Message));
        }
    }
}
