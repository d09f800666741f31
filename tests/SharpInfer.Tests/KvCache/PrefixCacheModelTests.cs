using SharpInfer.Inference;
using SharpInfer.KvCache;
using SharpInfer.Models;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.KvCache;

/// <summary>On the real model: continuing from a cached prefix gives the logits of evaluating everything from scratch.</summary>
public class PrefixCacheModelTests
{
    private static float[] Evaluate(InferenceContext context, int[] tokens, int start, int seq)
    {
        var batch = new Batch(tokens.Length);
        for (int i = start; i < tokens.Length; i++) batch.Add(tokens[i], i, seq, i == tokens.Length - 1);
        context.Decode(batch);
        return context.GetOutputLogits(0).ToArray();
    }

    [Fact]
    public void DecodingAfterACachedPrefixEqualsRecomputingFromScratch()
    {
        using var model = Model.Load(SharedData.Stories);
        var options = new ContextOptions { ContextSize = 256, MaxSequences = 3, Threads = 1, TypeK = GgmlType.F32, TypeV = GgmlType.F32 };
        var first = model.Tokenizer.Tokenize("Once upon a time, there was a little girl named Lily. She loved to play", true, true);
        var second = model.Tokenizer.Tokenize("Once upon a time, there was a little girl named Lily. She had a big red ball", true, true);
        int common = first.AsSpan().CommonPrefixLength(second);
        Assert.True(common > 10 && common < second.Length);

        float[] fresh;
        using (var plain = model.CreateContext(options)) fresh = Evaluate(plain, second, 0, 0);

        using var context = model.CreateContext(options);
        var cache = new PrefixCache(context.Kv.Main.Stream(0).Cells, holderSequence: 2);
        Evaluate(context, first, 0, 0);
        cache.Insert(0, first);
        context.Kv.SeqRemove(0, -1, -1);
        Assert.Equal(first.Length, context.Kv.Used);

        var lease = cache.Acquire(second, second.Length - 1, 1);
        Assert.Equal(common, lease.Length);
        Assert.Equal(first.Length, context.Kv.Used);
        var cached = Evaluate(context, second, lease.Length, 1);
        Assert.Equal(first.Length + second.Length - common, context.Kv.Used);

        double mean = fresh.Average(), std = Math.Sqrt(fresh.Average(v => (v - mean) * (v - mean)));
        double worst = fresh.Zip(cached, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 2e-3 * std, $"logits after a cached prefix differ by {worst} (std {std})");
        Assert.Equal(Array.IndexOf(fresh, fresh.Max()), Array.IndexOf(cached, cached.Max()));
    }
}
