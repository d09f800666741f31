using System.Globalization;
using SharpInfer.Kernels;
using SharpInfer.KvCache;
using SharpInfer.Models;
using SharpInfer.Tensors;

namespace SharpInfer.Inference;

/// <summary>A context would need more memory than the process can get; nothing was allocated.</summary>
public sealed class ContextTooLargeException(string message) : Exception(message);

/// <summary>
/// What a context costs before it is built: the KV cache (rows and cell bookkeeping), the forward pass's scratch and
/// the logits, in checked 64-bit arithmetic, set against the memory available to the process
/// (<see cref="SystemMemory"/>). A context that cannot fit is refused with what would, instead of being OOM-killed
/// half-way through allocating.
/// </summary>
public static class ContextMemory
{
    /// <summary>The bytes a context of <paramref name="model"/> with these options (context size resolved) would take.</summary>
    public static (long KvBytes, long ScratchBytes) Estimate(Model model, ContextOptions options) =>
        Estimate(model.Network.HyperParameters, model.Network.KvLayout, options);

    /// <summary>The bytes a context would take, from the hyper-parameters and cache layout alone (nothing loaded).</summary>
    public static (long KvBytes, long ScratchBytes) Estimate(LlamaHyperParameters hp, IReadOnlyList<KvLayerSpec> layout, ContextOptions options)
    {
        int ubatch = Math.Min(options.MicroBatchSize, options.ContextSize);
        var (k, v, cells) = KvCacheSet.ComputeBytes(CacheOptions(options), layout, ubatch);
        return (checked(k + v + cells), ScratchBytes(hp, ubatch, options.ResolvedThreads, options.MaxSequences));
    }

    /// <summary>
    /// Throws <see cref="ContextTooLargeException"/> when the context would not fit in the available memory, naming
    /// what it needs, what is available and the largest context size that fits; does nothing where the available
    /// memory cannot be known.
    /// </summary>
    public static void EnsureFits(Model model, ContextOptions options) => EnsureFits(model, options, SystemMemory.AvailableBytes());

    /// <summary>As <see cref="EnsureFits(Model, ContextOptions)"/>, against a given amount of available memory.</summary>
    public static void EnsureFits(Model model, ContextOptions options, long? availableBytes)
    {
        if (availableBytes is not long available) return;
        var (hp, layout) = (model.Network.HyperParameters, model.Network.KvLayout);
        var (kv, scratch) = Estimate(hp, layout, options);
        long total = checked(kv + scratch);
        if (total <= available) return;
        int fits = LargestFitting(hp, layout, options, available);
        string advice = fits > 0 ? $"at most {fits} cells fit (-c {fits})" : "even the smallest context does not fit: free memory or use a smaller model";
        throw new ContextTooLargeException(string.Create(CultureInfo.InvariantCulture,
            $"a context of {options.ContextSize} cells needs {Gib(total)} (KV cache {Gib(kv)}, buffers {Gib(scratch)}) but {Gib(available)} of memory is available; {advice}"));
    }

    /// <summary>The largest context size (at most the one asked for) whose cache and buffers fit in <paramref name="available"/> bytes; 0 when none does.</summary>
    public static int LargestFitting(LlamaHyperParameters hp, IReadOnlyList<KvLayerSpec> layout, ContextOptions options, long available)
    {
        int lo = 0, hi = options.ContextSize;
        while (lo < hi)
        {
            int mid = lo + (hi - lo + 1) / 2;
            var (kv, scratch) = Estimate(hp, layout, options with { ContextSize = mid });
            if (kv + scratch <= available) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    /// <summary>Bytes in GiB with two decimals, as messages show them.</summary>
    public static string Gib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB");

    private static KvCacheOptions CacheOptions(ContextOptions options) => new()
    {
        Cells = options.ContextSize,
        TypeK = options.TypeK,
        TypeV = options.TypeV,
        MaxSequences = options.MaxSequences,
        Unified = options.UnifiedKv,
    };

    /// <summary>
    /// The forward pass's buffers (activations of one micro-batch, attention scratch per thread, the quantized
    /// activations of the matrix products) and the logits of one row per sequence. Mirrors what
    /// <see cref="LlamaForwardPass"/> allocates; a test holds the two equal.
    /// </summary>
    internal static long ScratchBytes(LlamaHyperParameters hp, int ubatch, int threads, int sequences)
    {
        int d = hp.EmbeddingLength, qw = hp.HeadCount * hp.HeadDimK, aw = hp.HeadCount * hp.HeadDimV;
        int widest = Math.Max(Math.Max(d, hp.FeedForwardLength), Math.Max(qw, aw));
        long perToken = checked(3L * d + qw + hp.KWidth + hp.VWidth + aw + 2L * hp.FeedForwardLength + hp.Rope.Dims);
        long attention = FlashAttention.ScratchFloats(hp.GroupSize, hp.HeadDimK, hp.HeadDimV) + 16;
        long floats = checked(ubatch * perToken + threads * attention + (long)ubatch * d + (long)Math.Max(1, sequences) * hp.VocabSize);
        return checked(floats * sizeof(float) + MatMul.ScratchBytesFor(ubatch, widest, threads));
    }
}
