using SharpInfer.Kernels;

namespace SharpInfer.Models.Parts;

/// <summary>
/// The sizes of every buffer a forward pass holds, from the model's description alone: <see cref="PassState"/>
/// allocates exactly these, and a context's memory estimate (before anything is allocated) adds them up, so the two
/// cannot drift apart. Widths are the largest over the layers that use them.
/// </summary>
internal sealed record ScratchLayout
{
    public required int MaxTokens { get; init; }
    public required int MaxOutputs { get; init; }
    public required int Threads { get; init; }
    public required int Embedding { get; init; }
    public required int QueryWidth { get; init; }
    public required int KWidth { get; init; }
    public required int VWidth { get; init; }
    public required int OutputWidth { get; init; }
    public required int Hidden { get; init; }
    public required int MaxRopeDims { get; init; }
    public required int RopeSlots { get; init; }
    public required long AttentionScratchFloats { get; init; }

    /// <summary>The widest activation row a matrix product reads.</summary>
    public int Widest => new[] { Embedding, QueryWidth, OutputWidth, Hidden, KWidth, VWidth }.Max();

    /// <summary>Lays out the buffers of a pass over <paramref name="spec"/>.</summary>
    public static ScratchLayout For(ModelSpec spec, int maxTokens, int maxOutputs, int threads)
    {
        var attention = spec.Layers.Select(l => l.Attention).OfType<MultiHeadAttentionSpec>().ToArray();
        int Max(Func<MultiHeadAttentionSpec, int> f) => attention.Length == 0 ? 0 : attention.Max(f);
        return new ScratchLayout
        {
            MaxTokens = maxTokens,
            MaxOutputs = maxOutputs,
            Threads = threads,
            Embedding = spec.EmbeddingLength,
            QueryWidth = Max(a => a.QueryWidth),
            KWidth = Max(a => a.KWidth),
            VWidth = Max(a => a.VWidth),
            OutputWidth = spec.Layers.Max(l => l.Attention.OutputWidth),
            Hidden = spec.Layers.Max(l => l.FeedForward.HiddenWidth),
            MaxRopeDims = Max(a => a.Rope.Dims),
            RopeSlots = Network.RopeSlotKeys(spec).Count,
            AttentionScratchFloats = attention.Length == 0 ? 0 : attention.Max(a => FlashAttention.ScratchFloats(a.GroupSize, a.HeadDimK, a.HeadDimV)) + 16,
        };
    }

    /// <summary>Floats of each buffer, in the order <see cref="PassState"/> allocates them (each at least one).</summary>
    public IEnumerable<long> BufferFloats()
    {
        long t = MaxTokens;
        yield return t * Embedding;      // residual stream
        yield return t * Embedding;      // normed input
        yield return t * Embedding;      // part output
        yield return t * QueryWidth;
        yield return t * KWidth;
        yield return t * VWidth;
        yield return t * OutputWidth;    // attention output
        yield return t * Hidden;         // gate
        yield return t * Hidden;         // up
        yield return t * Math.Max(1, RopeSlots) * MaxRopeDims;
        yield return Threads * AttentionScratchFloats;
        yield return (long)MaxOutputs * Embedding;
    }

    /// <summary>Bytes of every buffer and of the matrix products' scratch.</summary>
    public long Bytes => checked(BufferFloats().Sum(f => Math.Max(1, f)) * sizeof(float) + MatMul.ScratchBytesFor(MaxTokens, Widest, Threads));
}
