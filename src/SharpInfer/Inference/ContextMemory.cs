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
    public static (long KvBytes, long ScratchBytes) Estimate(Model model, ContextOptions options) => Estimate(model.Spec, options);

    /// <summary>The bytes a context would take, from the model's description alone (nothing loaded).</summary>
    public static (long KvBytes, long ScratchBytes) Estimate(ModelSpec spec, ContextOptions options)
    {
        int ubatch = Math.Min(options.MicroBatchSize, options.ContextSize);
        // The latent-attention mode decides both the cache rows (latents, or per-head keys and values) and the buffers.
        var (k, v, cells) = KvCacheSet.ComputeBytes(CacheOptions(options), spec.KvLayoutFor(options.Mla), ubatch);
        return (checked(k + v + cells), ScratchBytes(spec, ubatch, options.ResolvedThreads, options.MaxSequences, options.Mla));
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
        var (kv, scratch) = Estimate(model.Spec, options);
        long total = checked(kv + scratch);
        if (total <= available) return;
        int fits = LargestFitting(model.Spec, options, available);
        string advice = fits > 0 ? $"at most {fits} cells fit (-c {fits})" : "even the smallest context does not fit: free memory or use a smaller model";
        throw new ContextTooLargeException(string.Create(CultureInfo.InvariantCulture,
            $"a context of {options.ContextSize} cells needs {Gib(total)} (KV cache {Gib(kv)}, buffers {Gib(scratch)}) but {Gib(available)} of memory is available; {advice}"));
    }

    /// <summary>The largest context size (at most the one asked for) whose cache and buffers fit in <paramref name="available"/> bytes; 0 when none does.</summary>
    public static int LargestFitting(ModelSpec spec, ContextOptions options, long available)
    {
        int lo = 0, hi = options.ContextSize;
        while (lo < hi)
        {
            int mid = lo + (hi - lo + 1) / 2;
            var (kv, scratch) = Estimate(spec, options with { ContextSize = mid });
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
        RecycleWindowCells = !options.SwaFull,
    };

    /// <summary>
    /// The forward pass's buffers (laid out by the same code that allocates them) and the logits of one row per
    /// sequence; a test holds the estimate equal to what a context really allocates.
    /// </summary>
    internal static long ScratchBytes(ModelSpec spec, int ubatch, int threads, int sequences, MlaMode mla = MlaMode.Absorb) =>
        checked(ForwardPass.ScratchBytesFor(spec, ubatch, ubatch, threads, mla) + (long)Math.Max(1, sequences) * spec.VocabSize * sizeof(float));
}
