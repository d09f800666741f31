using SharpInfer.Models;
using SharpInfer.Tensors;
using SharpInfer.Threading;

namespace SharpInfer.Inference;

/// <summary>How a context is sized and run.</summary>
public sealed record ContextOptions
{
    /// <summary>KV cache cells for all sequences together (0: the model's training context, capped at 4096).</summary>
    public int ContextSize { get; init; }

    /// <summary>Tokens per forward pass; longer batches are split (the prompt runs as matrix-matrix work in these).</summary>
    public int MicroBatchSize { get; init; } = 512;

    /// <summary>Compute threads (0: physical cores).</summary>
    public int Threads { get; init; }

    /// <summary>Key storage type.</summary>
    public GgmlType TypeK { get; init; } = GgmlType.F16;

    /// <summary>Value storage type.</summary>
    public GgmlType TypeV { get; init; } = GgmlType.F16;

    /// <summary>Sequences that can be decoded in parallel.</summary>
    public int MaxSequences { get; init; } = 1;

    /// <summary>One KV pool shared by all sequences (default) or one pool each.</summary>
    public bool UnifiedKv { get; init; } = true;

    /// <summary>
    /// Keep sliding-window caches at full context size instead of recycling cells that left every window (llama.cpp's
    /// <c>--swa-full</c>): more memory, but a sequence can be cut back anywhere (prompt-cache reuse, edits) and
    /// continued without evaluating it again.
    /// </summary>
    public bool SwaFull { get; init; }

    /// <summary>
    /// How Multi-head Latent Attention layers (DeepSeek-V2/V3) run and what their cache holds: the latent rows
    /// (<see cref="MlaMode.Absorb"/>, the default) or decompressed per-head keys and values. Other models ignore it.
    /// </summary>
    public MlaMode Mla { get; init; } = MlaMode.Absorb;

    /// <summary>Resolved thread count.</summary>
    public int ResolvedThreads => Threads > 0 ? Threads : CpuTopology.PhysicalCores;
}
