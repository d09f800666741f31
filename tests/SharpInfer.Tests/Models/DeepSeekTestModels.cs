using SharpInfer.Models;

namespace SharpInfer.Tests.Models;

/// <summary>
/// Small random-weight DeepSeek-V2/V3 models written by <see cref="ModelSynthesizer"/> (stories260K's 512-token
/// vocabulary) into one temporary folder per test process: V3-style (query compression, sigmoid gating with a
/// selection bias, 8 experts in 4 groups of which 2 are used, normalised weights × 2.5, YaRN ×4) in either MLA layout,
/// and V2-Lite-style (no query compression, softmax). Every size is a multiple of 32, so latent rows (32 + 32) and
/// decompressed heads (32 + 32, 32) fit every cache type.
/// </summary>
public static class DeepSeekTestModels
{
    private static readonly string Folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"sharpinfer-deepseek-{Environment.ProcessId}");
    private static readonly Dictionary<string, string> Written = new();

    static DeepSeekTestModels()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(Folder, recursive: true);
            }
            catch (IOException)
            {
            }
        };
    }

    /// <summary>V3-style attention: query compression, YaRN, in <paramref name="layout"/>.</summary>
    public static LatentShape Attention(LatentLayout layout) => new(32, 32, 32, 32, 32, layout, 4f, 64, 0.1f);

    /// <summary>V3-style experts: sigmoid, bias, groups, normalised and scaled weights, one shared expert.</summary>
    public static ExpertShape V3Experts { get; } = new(8, 2, 1, 32, 1, ExpertGating.Sigmoid, true, 2.5f, true, 4, 2);

    /// <summary>V2-Lite-style experts: softmax, no bias, no groups, three of eight used, two shared.</summary>
    public static ExpertShape LiteExperts { get; } = new(8, 3, 2, 32, 1, ExpertGating.Softmax, false, 1f, false);

    /// <summary>A shape of three blocks (one dense, two mixtures).</summary>
    public static ModelShape Shape(LatentShape attention, ExpertShape experts, int layers = 3) =>
        new("deepseek-test", "deepseek2", 64, layers, 4, 4, 96, 512, 256, 10000f, 1e-6f, false, Latent: attention, Experts: experts);

    /// <summary>The V3-style model in <paramref name="layout"/>, in <paramref name="type"/> (a type or mix name).</summary>
    public static string V3(LatentLayout layout, string type = "F32") => Path(Shape(Attention(layout), V3Experts), type, $"v3-{layout}");

    /// <summary>
    /// The V3-style attention in <paramref name="layout"/> in a model of one (dense) block, whose cached keys and
    /// values depend only on each token and its position: removing tokens and shifting the rest then equals a fresh
    /// computation.
    /// </summary>
    public static string OneLayer(LatentLayout layout) => Path(Shape(Attention(layout), V3Experts, layers: 1), "F32", $"one-layer-{layout}");

    /// <summary>The V2-Lite-style model (combined layout, no query compression).</summary>
    public static string Lite(string type = "F32") =>
        Path(Shape(Attention(LatentLayout.Combined) with { QueryLoraRank = 0, YarnFactor = 0 }, LiteExperts), type, "lite");

    /// <summary>Writes (once per process) and returns the file of a shape.</summary>
    public static string Path(ModelShape shape, string type, string name)
    {
        lock (Written)
        {
            string key = $"{name}-{type}";
            if (Written.TryGetValue(key, out var path)) return path;
            Directory.CreateDirectory(Folder);
            path = System.IO.Path.Combine(Folder, key + ".gguf");
            ModelSynthesizer.Write(shape, QuantizationMix.Parse(type), SharedData.File("models/stories260K.gguf"), path, 7);
            Written[key] = path;
            return path;
        }
    }
}
