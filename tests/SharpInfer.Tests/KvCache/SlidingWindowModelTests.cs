using SharpInfer.Inference;
using SharpInfer.KvCache;
using SharpInfer.Models;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.KvCache;

/// <summary>
/// Sliding-window models end to end: prompts of any length through window caches of window + micro-batch cells give
/// exactly what full-size window caches give, and a sequence cut back below recycled cells is never silently
/// continued over a truncated window.
/// </summary>
public class SlidingWindowModelTests
{
    private static string Arch(string family) => SharedData.File($"models/synthetic-arch/synth-{family}-F32.gguf");

    private static InferenceContext Context(Model model, bool swaFull, int ctx = 2048, int micro = 64) =>
        model.CreateContext(new ContextOptions { ContextSize = ctx, MicroBatchSize = micro, TypeK = GgmlType.F32, TypeV = GgmlType.F32, Threads = 2, SwaFull = swaFull });

    private static int[] Tokens(int count, int seed)
    {
        var r = new Random(seed);
        var tokens = new int[count];
        tokens[0] = 1;
        for (int i = 1; i < count; i++) tokens[i] = 3 + r.Next(500);
        return tokens;
    }

    private static float[][] Prefill(InferenceContext context, int[] tokens, int every, int seq = 0, int from = 0)
    {
        var batch = new Batch(tokens.Length - from);
        for (int i = from; i < tokens.Length; i++) batch.Add(tokens[i], i, seq, i % every == every - 1 || i == tokens.Length - 1);
        context.Decode(batch);
        return Enumerable.Range(0, batch.OutputCount).Select(o => context.GetOutputLogits(o).ToArray()).ToArray();
    }

    [Theory]
    [InlineData("gemma2")]
    [InlineData("gemma3")]
    public void A2000TokenPromptInMicroBatchesOf64EqualsFullWindowCaches(string family)
    {
        using var model = Model.Load(Arch(family));
        var tokens = Tokens(2000, 7);
        using var recycling = Context(model, swaFull: false);
        using var full = Context(model, swaFull: true);
        // The window groups really are small (16 + 64 cells) in one and context-sized in the other.
        Assert.Equal(16 + 64, recycling.Kv.Groups[^1].Capacity);
        Assert.Equal(2048, full.Kv.Groups[^1].Capacity);
        var a = Prefill(recycling, tokens, every: 97);
        var b = Prefill(full, tokens, every: 97);
        Assert.Equal(b.Length, a.Length);
        // Both attend to the same cells in the same order: the logits are identical, not merely close.
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i]);
        Assert.True(recycling.Kv.Groups[^1].Used <= 16 + 64);
    }

    [Fact]
    public void CuttingASequenceBackBelowRecycledCellsIsRefusedNotSilentlyTruncated()
    {
        using var model = Model.Load(Arch("gemma3"));
        var tokens = Tokens(300, 3);
        using var context = Context(model, swaFull: false, ctx: 512);
        Prefill(context, tokens, every: 1000);
        context.Kv.SeqRemove(0, 150, -1);
        var batch = new Batch(1);
        batch.Add(tokens[150], 150, 0, true);
        var e = Assert.Throws<KvWindowRecycledException>(() => context.Decode(batch));
        Assert.Equal(150, e.Position);
        // Window 16: the recycled positions end near 300 - 16 - 64, so only positions past them plus the window work.
        Assert.True(e.ResumePosition > 150, $"resume at {e.ResumePosition}");
        Assert.False(context.Kv.WindowIsWhole(0, 150));
        Assert.Equal(149, context.Kv.SeqPosMax(0));
    }

    [Fact]
    public void AStateFromARecyclingCacheKeepsItsGapsInAFullSizeOne()
    {
        using var model = Model.Load(Arch("gemma3"));
        var tokens = Tokens(300, 3);
        using var recycling = Context(model, swaFull: false, ctx: 512);
        Prefill(recycling, tokens, every: 1000);
        var saved = new MemoryStream();
        recycling.SaveState(saved, 0, tokens);
        using var full = Context(model, swaFull: true, ctx: 512);
        saved.Position = 0;
        full.LoadState(saved, 0);
        // The window group came without the early positions: a full-size cache must not pretend it has them.
        Assert.False(full.Kv.WindowIsWhole(0, 150));
        Assert.True(full.Kv.WindowIsWhole(0, 300));
        full.Kv.SeqRemove(0, 150, -1);
        var batch = new Batch(1);
        batch.Add(tokens[150], 150, 0, true);
        Assert.Throws<KvWindowRecycledException>(() => full.Decode(batch));
    }

    [Fact]
    public void FullWindowCachesContinueAfterACutExactlyAsARecomputation()
    {
        using var model = Model.Load(Arch("gemma3"));
        var tokens = Tokens(300, 3);
        using var full = Context(model, swaFull: true, ctx: 512);
        Prefill(full, tokens, every: 1000);
        full.Kv.SeqRemove(0, 150, -1);
        var cut = Prefill(full, tokens[..200], every: 1000, from: 150);
        using var fresh = Context(model, swaFull: false, ctx: 512);
        var recomputed = Prefill(fresh, tokens[..200], every: 1000);
        Assert.Equal(recomputed[^1], cut[^1]);
    }

    [Fact]
    public void APromptCacheOverRecycledWindowsIsEvaluatedAgainAndGivesTheSameText()
    {
        using var model = Model.Load(Arch("gemma3"));
        string dir = Directory.CreateTempSubdirectory("sharpinfer-swa-").FullName;
        try
        {
            string cache = Path.Combine(dir, "prompt.state");
            var longPrompt = Tokens(200, 11);
            var options = new GenerationOptions { MaxTokens = 8, Sampling = SharpInfer.Sampling.SamplingOptions.Greedy, PromptCachePath = cache };
            using (var first = Context(model, swaFull: false, ctx: 512)) new Generator(first).Generate(longPrompt, options);
            Assert.True(File.Exists(cache));
            // A shorter prompt sharing 120 tokens: its continuation point lies inside recycled window cells.
            var shorter = longPrompt[..120].Concat(Tokens(30, 12)[1..]).ToArray();
            var warnings = new List<string>();
            GenerationResult reused;
            using (var second = Context(model, swaFull: false, ctx: 512))
            {
                var generator = new Generator(second);
                generator.Warning += warnings.Add;
                reused = generator.Generate(shorter, options);
            }
            Assert.Equal(0, reused.PromptTokensReused);
            Assert.Contains(warnings, w => w.Contains("sliding-window cache"));
            GenerationResult plain;
            using (var third = Context(model, swaFull: false, ctx: 512)) plain = new Generator(third).Generate(shorter, options with { PromptCachePath = null });
            Assert.Equal(plain.GeneratedTokens, reused.GeneratedTokens);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ShiftingEveryPositionLeavesTheNextTokensLogitsUnchanged()
    {
        // RoPE is relative: moving a whole sequence down by 10 positions (K-shift re-rotates every cached key with its
        // own layer's base: 1e4 on window layers, 1e6 on global ones) must give the logits of an unshifted run.
        using var model = Model.Load(Arch("gemma3"));
        var tokens = Tokens(120, 5);
        using var shifted = Context(model, swaFull: false, ctx: 512);
        var batch = new Batch(tokens.Length - 1);
        for (int i = 0; i < tokens.Length - 1; i++) batch.Add(tokens[i], i + 10, 0, false);
        shifted.Decode(batch);
        shifted.Kv.SeqAdd(0, 0, -1, -10);
        var next = new Batch(1);
        next.Add(tokens[^1], tokens.Length - 1, 0, true);
        shifted.Decode(next);
        var a = shifted.GetOutputLogits(0).ToArray();
        using var plain = Context(model, swaFull: false, ctx: 512);
        var b = Prefill(plain, tokens, every: 1000)[^1];
        double std = Math.Sqrt(b.Select(x => (double)x * x).Average() - Math.Pow(b.Average(), 2));
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) <= 1e-3 * std, $"logit {i}: {a[i]} vs {b[i]}");
    }
}
