namespace SharpInfer.Models;

/// <summary>The hyper-parameters of a real model family, for generating random-weight stand-ins of the same size.</summary>
public sealed record ModelShape(
    string Name,
    int EmbeddingLength,
    int Layers,
    int Heads,
    int KvHeads,
    int FeedForwardLength,
    int VocabSize,
    int ContextLength,
    float RopeBase,
    float RmsEpsilon,
    bool TiedEmbeddings,
    bool Llama3RopeFactors = false)
{
    /// <summary>Shapes <c>synth</c> knows.</summary>
    public static IReadOnlyList<ModelShape> Known { get; } =
    [
        new("tinyllama-1.1b", 2048, 22, 32, 4, 5632, 32000, 2048, 10000f, 1e-5f, false),
        new("llama-3.2-1b", 2048, 16, 32, 8, 8192, 128256, 131072, 500000f, 1e-5f, true, Llama3RopeFactors: true),
        new("smollm-135m", 576, 30, 9, 3, 1536, 49152, 2048, 10000f, 1e-5f, true),
    ];

    /// <summary>A shape by name (case-insensitive).</summary>
    public static ModelShape Find(string name) =>
        Known.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown shape '{name}' (known: {string.Join(", ", Known.Select(s => s.Name))})");

    /// <summary>Dimension of each head.</summary>
    public int HeadDim => EmbeddingLength / Heads;

    /// <summary>Number of weights (parameters) for a vocabulary of <paramref name="vocab"/> tokens.</summary>
    public long Parameters(int vocab)
    {
        long d = EmbeddingLength, kv = (long)KvHeads * HeadDim;
        long perLayer = d * d * 2 + d * kv * 2 + 3 * d * FeedForwardLength + 2 * d;
        return vocab * d * (TiedEmbeddings ? 1 : 2) + Layers * perLayer + d;
    }
}
