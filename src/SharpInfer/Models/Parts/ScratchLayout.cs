using SharpInfer.Kernels;

namespace SharpInfer.Models.Parts;

/// <summary>
/// The sizes of every buffer a forward pass holds, from the model's description alone: <see cref="PassState"/>
/// allocates exactly these, and a context's memory estimate (before anything is allocated) adds them up, so the two
/// cannot drift apart. Widths are the largest over the layers that use them; parts with work of their own shape
/// (latent attention, experts) add what they declare (<see cref="PartNeeds"/>).
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
    public required long PartScratchFloats { get; init; }
    public required int Jobs { get; init; }

    /// <summary>The activation shapes (rows × columns) matrix products are prepared for.</summary>
    public required IReadOnlyList<(int Rows, int Columns)> Products { get; init; }

    /// <summary>Lays out the buffers of a pass over <paramref name="spec"/>.</summary>
    public static ScratchLayout For(ModelSpec spec, int maxTokens, int maxOutputs, int threads, MlaMode mla)
    {
        var attention = spec.Layers.Select(l => l.Attention).OfType<MultiHeadAttentionSpec>().ToArray();
        int Max(Func<MultiHeadAttentionSpec, int> f) => attention.Length == 0 ? 0 : attention.Max(f);
        var needs = spec.Layers.Select(l => l.Attention).Cast<object>().Concat(spec.Layers.Select(l => l.FeedForward))
            .Select(part => NeedsOf(part, spec.EmbeddingLength, maxTokens, mla)).ToArray();
        int queryWidth = Max(a => a.QueryWidth), kWidth = Max(a => a.KWidth), vWidth = Max(a => a.VWidth);
        int outputWidth = spec.Layers.Max(l => l.Attention.OutputWidth), hidden = spec.Layers.Max(l => l.FeedForward.HiddenWidth);
        int widest = new[] { spec.EmbeddingLength, queryWidth, outputWidth, hidden, kWidth, vWidth }.Max();
        long flash = attention.Length == 0 ? 0 : attention.Max(a => FlashAttention.ScratchFloats(a.GroupSize, a.HeadDimK, a.HeadDimV));
        return new ScratchLayout
        {
            MaxTokens = maxTokens,
            MaxOutputs = maxOutputs,
            Threads = threads,
            Embedding = spec.EmbeddingLength,
            QueryWidth = queryWidth,
            KWidth = kWidth,
            VWidth = vWidth,
            OutputWidth = outputWidth,
            Hidden = hidden,
            MaxRopeDims = spec.Layers.Max(l => l.Attention.Rotary?.Rope.Dims ?? 0),
            RopeSlots = Network.RopeSlotKeys(spec).Count,
            AttentionScratchFloats = Math.Max(flash, needs.Max(n => n.ThreadScratchFloats)) + 16,
            PartScratchFloats = needs.Max(n => n.ScratchFloats),
            Jobs = needs.Max(n => n.Jobs),
            Products = [(maxTokens, widest), .. needs.SelectMany(n => n.Products)],
        };
    }

    /// <summary>What a part of this kind declares beyond the common buffers (nothing for the plain ones).</summary>
    private static PartNeeds NeedsOf(object part, int embedding, int maxTokens, MlaMode mla) => part switch
    {
        LatentAttentionSpec latent => LatentAttentionPart.NeedsFor(latent, embedding, maxTokens, mla),
        MixtureOfExpertsSpec experts => MixtureOfExpertsPart.NeedsFor(experts, embedding, maxTokens),
        _ => PartNeeds.None,
    };

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
        yield return PartScratchFloats;
    }

    /// <summary>Bytes of every buffer and of the matrix products' scratch.</summary>
    public long Bytes => checked(BufferFloats().Sum(f => Math.Max(1, f)) * sizeof(float) + MatMul.ScratchBytesFor(Products, Threads));
}
