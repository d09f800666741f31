using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Sampling;

namespace SharpInfer.Tests.Inference;

/// <summary>Generation with context shift runs on in flat memory: measured, not assumed.</summary>
[Collection(MemoryMeasurements.Name)]
public sealed class ContextShiftMemoryTests
{
    /// <summary>
    /// 2000 tokens through 64 cells: the cache's native bytes never change, it never holds more than its cells, and the
    /// managed heap after 1500 more tokens has grown by no more than those tokens and their text (a few KiB), where a
    /// leak of even 200 bytes per token would show 300 KB.
    /// </summary>
    [Fact]
    public void ContextShiftGeneratesFarBeyondTheContextInFlatMemory()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 64, Threads = 1 });
        long cacheBytes = context.Kv.TotalBytes;
        int pieces = 0, mostUsed = 0;
        long heapEarly = 0, heapLate = 0;
        var generator = new Generator(context);
        var result = generator.Generate("Once upon a time", new GenerationOptions
        {
            MaxTokens = 2000,
            ContextShift = true,
            Sampling = SamplingOptions.Greedy,
            StopAtEndOfGeneration = false,
        }, _ =>
        {
            pieces++;
            mostUsed = Math.Max(mostUsed, context.Kv.Used);
            if (pieces == 400) heapEarly = GC.GetTotalMemory(forceFullCollection: true);
            if (pieces == 1900) heapLate = GC.GetTotalMemory(forceFullCollection: true);
        });
        Assert.Equal(2000, result.GeneratedTokens.Length);
        Assert.True(result.ContextShifts > 30);
        Assert.True(pieces >= 1900, $"only {pieces} text pieces");
        Assert.Equal(cacheBytes, context.Kv.TotalBytes);
        Assert.InRange(mostUsed, 1, 64);
        Assert.True(heapLate - heapEarly < 128 << 10, $"the heap grew by {heapLate - heapEarly} bytes over 1500 tokens");
    }
}
