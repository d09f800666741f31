using SharpInfer.Tensors;

namespace SharpInfer.KvCache;

/// <summary>Shape and storage of a KV cache.</summary>
public sealed record KvCacheOptions
{
    /// <summary>Cells in the whole cache (shared by all sequences when unified, divided equally otherwise).</summary>
    public required int Cells { get; init; }

    /// <summary>Storage type of keys.</summary>
    public GgmlType TypeK { get; init; } = GgmlType.F16;

    /// <summary>Storage type of values.</summary>
    public GgmlType TypeV { get; init; } = GgmlType.F16;

    /// <summary>Highest number of sequences used at once (ids 0..MaxSequences−1).</summary>
    public int MaxSequences { get; init; } = 1;

    /// <summary>One pool for all sequences (true) or one pool per sequence (false).</summary>
    public bool Unified { get; init; } = true;

    /// <summary>Attention window of the layers in this cache (0: full attention).</summary>
    public int SlidingWindow { get; init; }

    /// <summary>How the window is measured (ignored when <see cref="SlidingWindow"/> is 0).</summary>
    public SlidingWindowType WindowType { get; init; } = SlidingWindowType.Standard;

    /// <summary>
    /// Whether a sliding-window cache recycles cells no token can see any more (true: window + micro-batch cells per
    /// pool) or keeps every position like a full-attention cache (false: llama.cpp's <c>--swa-full</c>), which lets
    /// a sequence be cut back anywhere and continued without recomputation.
    /// </summary>
    public bool RecycleWindowCells { get; init; } = true;

    /// <summary>Types a cache can store keys and values in.</summary>
    public static IReadOnlyList<GgmlType> SupportedTypes { get; } =
        [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.IQ4_NL];
}

/// <summary>How a sliding attention window limits what a token at position p sees.</summary>
public enum SlidingWindowType
{
    /// <summary>Positions p0 with p − p0 &lt; window (Mistral, Gemma 2).</summary>
    Standard,
    /// <summary>Positions in the same chunk: p0 ≥ ⌊p / window⌋ · window (Llama 4).</summary>
    Chunked,
}

/// <summary>Per-layer widths of the cached rows (a layer may have no V: latent caches store one row for both).</summary>
/// <param name="KWidth">Elements of one K row (all KV heads).</param>
/// <param name="VWidth">Elements of one V row, or 0 when the layer caches no V.</param>
/// <param name="HeadDimK">Elements per key head (quantized blocks must not straddle heads).</param>
/// <param name="HeadDimV">Elements per value head.</param>
public readonly record struct KvLayerShape(int KWidth, int VWidth, int HeadDimK, int HeadDimV);

/// <summary>The cache has no room for the cells a batch or an operation needs; nothing was changed.</summary>
public sealed class KvCacheFullException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KvCacheFullException(int needed, int free, int size)
        : base($"KV cache full: need {needed} cells, {free} free, n_ctx = {size}")
    {
        Needed = needed;
        Free = free;
        Size = size;
    }

    /// <summary>Cells needed.</summary>
    public int Needed { get; }

    /// <summary>Cells free.</summary>
    public int Free { get; }

    /// <summary>Cells in the pool.</summary>
    public int Size { get; }
}

/// <summary>
/// A sequence was cut back (positions removed) below where a sliding-window cache had already recycled its cells, so
/// the next token would attend to a truncated window. Nothing was changed: recompute the sequence from its start,
/// continue at <see cref="ResumePosition"/> or later, or keep full-size window caches (<c>--swa-full</c>).
/// </summary>
public sealed class KvWindowRecycledException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KvWindowRecycledException(int seq, int position, int resumePosition)
        : base($"sequence {seq} cannot continue at position {position}: its sliding-window cache recycled positions that token must see " +
               $"(continue at {resumePosition} or later, recompute the sequence from its start, or keep full window caches with --swa-full)")
    {
        Sequence = seq;
        Position = position;
        ResumePosition = resumePosition;
    }

    /// <summary>The sequence.</summary>
    public int Sequence { get; }

    /// <summary>The position that was asked for.</summary>
    public int Position { get; }

    /// <summary>The smallest position the sequence can continue at.</summary>
    public int ResumePosition { get; }
}
