using SharpInfer.Gguf;

namespace SharpInfer.Models.Architectures;

/// <summary>
/// A model family, keyed by <c>general.architecture</c>: it reads its hyper-parameters and says which parts every
/// block runs (<see cref="ModelSpec"/>); the generic forward pass, the weight binder, the KV cache, <c>kv-size</c>,
/// <c>quantize</c> and <c>synth</c> do the rest. Adding a family is one subclass registered in <see cref="ModelArchitectures"/>.
/// </summary>
public abstract class ModelArchitecture
{
    /// <summary>The <c>general.architecture</c> value.</summary>
    public abstract string Name { get; }

    /// <summary>Models of this family people run (for the README and error messages).</summary>
    public abstract string Examples { get; }

    /// <summary>Builds the description of a file of this family; throws <see cref="ModelLoadException"/> naming a bad key.</summary>
    public abstract ModelSpec Describe(HyperParameterReader hp);

    /// <summary>
    /// The family's own metadata keys (without the <c>{arch}.</c> prefix) that a synthetic model of
    /// <paramref name="shape"/> needs besides the common ones (<see cref="ModelShape"/> writes those).
    /// </summary>
    public virtual IEnumerable<KeyValuePair<string, GgufValue>> ShapeMetadata(ModelShape shape) => [];

    /// <summary>Reads the description of a file's model: its architecture from <c>general.architecture</c>.</summary>
    public static ModelSpec Describe(GgufMetadata metadata)
    {
        string name = metadata.TryGetString("general.architecture") ?? throw new ModelLoadException("general.architecture is missing");
        var architecture = ModelArchitectures.Find(name);
        return architecture.Describe(new HyperParameterReader(metadata, name));
    }
}

/// <summary>The registry of supported families.</summary>
public static class ModelArchitectures
{
    /// <summary>Every family, in the order the README lists them.</summary>
    public static IReadOnlyList<ModelArchitecture> All { get; } =
    [
        new LlamaArchitecture(),
        new Qwen2Architecture(),
        new Qwen3Architecture(),
        new Gemma2Architecture(),
        new Gemma3Architecture(),
        new Phi3Architecture(),
        new DeepSeek2Architecture(),
    ];

    /// <summary>Names of the supported families.</summary>
    public static IEnumerable<string> Names => All.Select(a => a.Name);

    /// <summary>The family of <paramref name="name"/>; an unknown one is a <see cref="ModelLoadException"/> listing the supported ones.</summary>
    public static ModelArchitecture Find(string name) =>
        All.FirstOrDefault(a => a.Name == name)
        ?? throw new ModelLoadException($"unsupported architecture {Files.SafeText.Quote(name)} (supported: {string.Join(", ", Names)})");

    /// <summary>Whether <paramref name="name"/> is supported.</summary>
    public static bool IsSupported(string name) => All.Any(a => a.Name == name);
}
