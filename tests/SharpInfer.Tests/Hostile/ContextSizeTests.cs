using SharpInfer.Inference;
using SharpInfer.KvCache;
using SharpInfer.Models;
using SharpInfer.Tensors;
using SharpInfer.Tests.Cli;

namespace SharpInfer.Tests.Hostile;

/// <summary>
/// A context that cannot fit is refused before anything is allocated, saying what it needs, what is available and
/// what fits; the bytes it is judged by are the bytes a context really takes.
/// </summary>
public sealed class ContextSizeTests
{
    [Fact]
    public void AHugeContextIsRefusedWithWhatFits()
    {
        var r = CliRunner.Run("run", "-m", SharedData.Stories, "-p", "hi", "-c", "400000000");
        Assert.Equal(1, r.ExitCode);
        Assert.Matches(@"^error: a context of 400000000 cells needs [0-9.]+ GiB \(KV cache [0-9.]+ GiB, buffers [0-9.]+ GiB\) but [0-9.]+ GiB of memory is available; at most [0-9]+ cells fit \(-c [0-9]+\)\s*$", r.Err);
    }

    [Fact]
    public void AContextBeyondTheCellLimitIsAUsageError()
    {
        var r = CliRunner.Run("run", "-m", SharedData.Stories, "-p", "hi", "-c", "1000000000");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--ctx-size must be", r.Err);
        Assert.DoesNotContain("overflow", r.Err);
    }

    [Fact]
    public void TheAdvisedSizeFitsAndOneMoreCellDoesNot()
    {
        using var model = Model.Load(SharedData.Stories);
        var options = new ContextOptions { ContextSize = 1_000_000, Threads = 2 };
        long available = 64L << 20;
        var e = Assert.Throws<ContextTooLargeException>(() => ContextMemory.EnsureFits(model, options, available));
        int fits = int.Parse(System.Text.RegularExpressions.Regex.Match(e.Message, @"-c (\d+)\)").Groups[1].Value);
        ContextMemory.EnsureFits(model, options with { ContextSize = fits }, available);
        Assert.Throws<ContextTooLargeException>(() => ContextMemory.EnsureFits(model, options with { ContextSize = fits + 1 }, available));
        ContextMemory.EnsureFits(model, options, availableBytes: null);
    }

    public static TheoryData<string, int, int, int, bool, GgmlType, MlaMode> Configurations => new()
    {
        { "models/stories260K.gguf", 512, 64, 1, true, GgmlType.F16, MlaMode.Absorb },
        { "models/synthetic/synth-llama-F32.gguf", 300, 512, 4, false, GgmlType.Q8_0, MlaMode.Absorb },
        { "models/synthetic/synth-llama-Q4_K_S.gguf", 1000, 128, 2, true, GgmlType.F32, MlaMode.Absorb },
        // Latent attention: the mode changes the cache rows (latents or per-head keys and values) and the buffers.
        { "models/synthetic-arch/synth-deepseek2-F32.gguf", 256, 64, 2, true, GgmlType.F16, MlaMode.Absorb },
        { "models/synthetic-arch/synth-deepseek2-F32.gguf", 256, 64, 2, true, GgmlType.F16, MlaMode.Naive },
    };

    /// <summary>The estimate is the allocation: KV rows exactly as the cache reports them, scratch exactly as the context holds.</summary>
    [Theory]
    [MemberData(nameof(Configurations))]
    public void TheEstimateIsWhatAContextAllocates(string file, int cells, int ubatch, int sequences, bool unified, GgmlType type, MlaMode mla)
    {
        using var model = Model.Load(SharedData.File(file));
        var options = new ContextOptions { ContextSize = cells, MicroBatchSize = ubatch, MaxSequences = sequences, UnifiedKv = unified, TypeK = type, TypeV = type, Threads = 3, Mla = mla };
        var (kv, scratch) = ContextMemory.Estimate(model, options);
        using var context = model.CreateContext(options);
        long bookkeeping = (long)KvCacheGroup.AllocatedCells(context.Kv.Options) * KvCacheSet.CellBookkeepingBytes + (long)cells * KvCacheSet.PlacementBytes;
        Assert.Equal(context.Kv.TotalBytes + bookkeeping, kv);
        Assert.Equal(context.ScratchBytes, scratch);
    }
}
