using SharpInfer.Inference;
using SharpInfer.KvCache;
using SharpInfer.Models;
using SharpInfer.Sampling;

namespace SharpInfer.Tests.Inference;

/// <summary>
/// The continuous-batching scheduler on the real stories260K model (wide greedy margins, so batched and lone runs
/// must agree token for token), checked against <see cref="Generator"/> running each prompt alone.
/// </summary>
public class GenerationSchedulerTests
{
    private static readonly string[] Prompts =
    [
        "Once upon a time", "The little dog", "Lily and Tom went to the park", "One day, a big bird",
        "There was a girl named Sue", "The sun was shining", "Tim had a red ball", "A cat sat on the mat",
    ];

    private static Model LoadStories() => Model.Load(SharedData.Stories);

    private static InferenceContext NewContext(Model model, int running, int cells = 1024) =>
        model.CreateContext(new ContextOptions { ContextSize = cells, MaxSequences = GenerationScheduler.RequiredSequences(running), Threads = 1, TypeK = SharpInfer.Tensors.GgmlType.F32, TypeV = SharpInfer.Tensors.GgmlType.F32 });

    /// <summary>What each prompt gives alone through the plain generation loop (tokens, text).</summary>
    private static (int[] Tokens, string Text)[] LoneReferences(Model model, IReadOnlyList<string> prompts, int maxTokens)
    {
        using var context = model.CreateContext(new ContextOptions { ContextSize = 512, Threads = 1, TypeK = SharpInfer.Tensors.GgmlType.F32, TypeV = SharpInfer.Tensors.GgmlType.F32 });
        var generator = new Generator(context);
        return prompts.Select(p =>
        {
            context.Kv.Clear();
            var r = generator.Generate(p, new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy });
            var tokens = r.StopReason == StopReason.EndOfGeneration ? r.GeneratedTokens[..^1] : r.GeneratedTokens;
            return (tokens, r.Text);
        }).ToArray();
    }

    /// <summary>Blocks the engine thread until disposed, so requests submitted meanwhile all arrive before its next step.</summary>
    private static IDisposable HoldEngine(GenerationScheduler scheduler)
    {
        var release = new ManualResetEventSlim();
        var entered = new ManualResetEventSlim();
        _ = scheduler.OnEngineAsync(() =>
        {
            entered.Set();
            release.Wait();
            return 0;
        });
        entered.Wait();
        return new Release(release);
    }

    private sealed class Release(ManualResetEventSlim gate) : IDisposable
    {
        public void Dispose() => gate.Set();
    }

    private static GenerationRequest Greedy(Model model, string prompt, int maxTokens) => new()
    {
        PromptTokens = model.Tokenizer.Tokenize(prompt, true, true),
        MaxTokens = maxTokens,
        Sampling = SamplingOptions.Greedy,
    };

    [Fact]
    public async Task ConcurrentGreedyRequestsEachGetWhatALoneRequestGets()
    {
        using var model = LoadStories();
        var expected = LoneReferences(model, Prompts, 40);
        using var context = NewContext(model, 8);
        await using var scheduler = new GenerationScheduler(context, new SchedulerOptions { StepTokens = 16, VerifyEveryStep = true });
        GenerationStream[] streams;
        using (HoldEngine(scheduler)) streams = Prompts.Select(p => scheduler.Submit(Greedy(model, p, 40))).ToArray();
        var results = await Task.WhenAll(streams.Select(s => s.CollectAsync()));
        for (int i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(expected[i].Text, results[i].Choices[0].Text);
            Assert.Equal(expected[i].Tokens, results[i].Choices[0].Tokens);
        }
        // All eight arrived at once: a few steps of prompt chunks, then about 40 steps in which all decode together.
        Assert.InRange(scheduler.Metrics.StepsTotal, 40, 60);
    }

    [Fact]
    public async Task PrefixCacheTakesSharedPrefixesAndLeavesGreedyOutputsUnchanged()
    {
        using var model = LoadStories();
        string story = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";
        string[] prompts = [story + " One day", story + " Her mom", story + " One day", story];
        var expected = LoneReferences(model, prompts, 30);
        foreach (bool cached in new[] { true, false })
        {
            using var context = NewContext(model, 4);
            await using var scheduler = new GenerationScheduler(context, new SchedulerOptions { PrefixCache = cached, VerifyEveryStep = true });
            var usages = new List<GenerationUsage>();
            for (int i = 0; i < prompts.Length; i++)
            {
                var result = await scheduler.Submit(Greedy(model, prompts[i], 30)).CollectAsync();
                Assert.Equal(expected[i].Text, result.Choices[0].Text);
                usages.Add(result.Usage);
            }
            int storyTokens = model.Tokenizer.Tokenize(story, true, true).Length;
            if (cached)
            {
                Assert.Equal(0, usages[0].CachedPromptTokens);
                Assert.True(usages[1].CachedPromptTokens >= storyTokens, $"the second prompt reused {usages[1].CachedPromptTokens} tokens, the story has {storyTokens}");
                Assert.Equal(usages[2].PromptTokens - 1, usages[2].CachedPromptTokens);
                Assert.Equal(storyTokens - 1, usages[3].CachedPromptTokens);
                Assert.Equal(usages.Sum(u => u.CachedPromptTokens), scheduler.Metrics.PrefixCacheHitTokensTotal);
            }
            else
            {
                Assert.All(usages, u => Assert.Equal(0, u.CachedPromptTokens));
                Assert.Equal(0, scheduler.Metrics.KvCellsUsed);
            }
        }
    }

    [Fact]
    public async Task ChoicesShareThePromptCells()
    {
        using var model = LoadStories();
        using var context = NewContext(model, 4);
        await using var scheduler = new GenerationScheduler(context, new SchedulerOptions { VerifyEveryStep = true });
        var prompt = model.Tokenizer.Tokenize("Once upon a time, there was a little girl named Lily. She loved to play", true, true);
        var request = new GenerationRequest { PromptTokens = prompt, Choices = 4, MaxTokens = 12, Sampling = new SamplingOptions { Temperature = 1.5f, TopK = 0, TopP = 1, MinP = 0, Seed = 42 } };
        var result = await scheduler.Submit(request).CollectAsync();
        Assert.Equal(4, result.Choices.Count);
        Assert.All(result.Choices, c => Assert.Equal(StopReason.TokenLimit, c.Reason));
        Assert.True(result.Choices.Select(c => c.Text).Distinct().Count() > 1, "seed + i should give the choices different continuations");
        Assert.Equal(prompt.Length, result.Usage.PromptTokens);
        Assert.Equal(48, result.Usage.CompletionTokens);
        // The cache keeps every evaluated prefix once: the prompt, and each choice's first 11 tokens (its 12th was
        // sampled, never evaluated) where they differ from another choice's; four private copies would be 4 × 32 cells.
        var prefixes = new HashSet<string>();
        foreach (var c in result.Choices)
        {
            var evaluated = prompt.Concat(c.Tokens[..11]).ToArray();
            for (int n = 1; n <= evaluated.Length; n++) prefixes.Add(string.Join(",", evaluated[..n]));
        }
        Assert.Equal(prefixes.Count, scheduler.Metrics.KvCellsUsed);
        Assert.True(prefixes.Count <= prompt.Length + 4 * 11);
        Assert.Equal(scheduler.Metrics.KvCellsUsed, scheduler.Metrics.PrefixCacheCells);

        // Seeds are per choice: choice 2 of this request equals choice 0 of one seeded with 44.
        var single = await scheduler.Submit(request with { Choices = 1, Sampling = request.Sampling with { Seed = 44 } }).CollectAsync();
        Assert.Equal(result.Choices[2].Text, single.Choices[0].Text);
    }

    [Fact]
    public async Task LeavingTheStreamCancelsTheRequestAndFreesItsCellsBeforeReturning()
    {
        using var model = LoadStories();
        using var context = NewContext(model, 2);
        await using var scheduler = new GenerationScheduler(context, new SchedulerOptions { PrefixCache = false });
        var stream = scheduler.Submit(Greedy(model, "Once upon a time", -1) with { StopAtEndOfGeneration = false });
        int tokens = 0;
        await foreach (var e in stream)
        {
            if (e is TokenGenerated && ++tokens == 3) break;
        }
        Assert.True(stream.Completion.IsCompletedSuccessfully);
        Assert.Equal(0, context.Kv.Used);
        var m = scheduler.Metrics;
        Assert.Equal(0, m.RequestsRunning);
        Assert.Equal(0, m.KvCellsUsed);
    }

    [Fact]
    public async Task CellPressurePausesRequestsAndTheyStillGetTheirText()
    {
        using var model = LoadStories();
        var expected = LoneReferences(model, Prompts[..6], 60);
        // 120 cells for six requests of about 70 tokens each: most must wait, and running ones get paused.
        using var context = NewContext(model, 6, cells: 120);
        await using var scheduler = new GenerationScheduler(context, new SchedulerOptions { StepTokens = 32, VerifyEveryStep = true });
        var results = await Task.WhenAll(Prompts[..6].Select(p => scheduler.Submit(Greedy(model, p, 60)).CollectAsync()));
        for (int i = 0; i < 6; i++) Assert.Equal(expected[i].Text, results[i].Choices[0].Text);
        Assert.True(scheduler.Metrics.PreemptionsTotal > 0, "no request was paused; the test does not exercise preemption");
        Assert.Equal(scheduler.Metrics.PreemptionsTotal, results.Sum(r => r.Usage.Preemptions));
    }

    [Fact]
    public async Task ALoneSequenceThatFillsTheCacheEndsWithContextFull()
    {
        using var model = LoadStories();
        using var context = NewContext(model, 1, cells: 24);
        await using var scheduler = new GenerationScheduler(context);
        var request = Greedy(model, "Once upon a time", -1) with { StopAtEndOfGeneration = false };
        var result = await scheduler.Submit(request).CollectAsync();
        Assert.Equal(StopReason.ContextFull, result.Choices[0].Reason);
        Assert.Equal(24 - request.PromptTokens.Count + 1, result.Usage.CompletionTokens);
    }

    [Fact]
    public async Task RandomCancellationsLeaveExactAccounting()
    {
        using var model = LoadStories();
        using var context = NewContext(model, 4, cells: 256);
        await using var scheduler = new GenerationScheduler(context, new SchedulerOptions { StepTokens = 24, MaxQueuedRequests = 100, VerifyEveryStep = true });
        var random = new Random(5);
        var tasks = new List<Task>();
        for (int i = 0; i < 40; i++)
        {
            var request = Greedy(model, Prompts[random.Next(Prompts.Length)] + " and", 30 + random.Next(30)) with { Choices = 1 + random.Next(2) };
            int stopAfter = random.Next(0, 40);
            var cts = new CancellationTokenSource();
            if (random.Next(3) == 0) cts.CancelAfter(random.Next(1, 30));
            tasks.Add(Task.Run(async () =>
            {
                int seen = 0;
                try
                {
                    await foreach (var e in scheduler.Submit(request, cts.Token).WithCancellation(cts.Token))
                    {
                        if (e is TokenGenerated && ++seen >= stopAfter) break;
                    }
                }
                catch (OperationCanceledException)
                {
                }
            }));
        }
        await Task.WhenAll(tasks);
        var m = scheduler.Metrics;
        Assert.Equal(0, m.RequestsRunning);
        Assert.Equal(0, m.RequestsQueued);
        Assert.Equal(m.PrefixCacheCells, m.KvCellsUsed);
        Assert.Equal(m.KvCellsUsed, await scheduler.ClearPrefixCacheAsync());
        Assert.Equal(0, context.Kv.Used);
        var after = await scheduler.Submit(Greedy(model, Prompts[0], 40)).CollectAsync();
        Assert.Equal(LoneReferences(model, [Prompts[0]], 40)[0].Text, after.Choices[0].Text);
    }

    [Fact]
    public async Task AFullQueueRefusesAndShutdownRefusesForGood()
    {
        using var model = LoadStories();
        using var context = NewContext(model, 1);
        var scheduler = new GenerationScheduler(context, new SchedulerOptions { MaxQueuedRequests = 1 });
        await using var disposeAtTheEnd = scheduler;
        GenerationStream first, second;
        SchedulerUnavailableException full;
        using (HoldEngine(scheduler))
        {
            first = scheduler.Submit(Greedy(model, "Once upon a time", 300) with { StopAtEndOfGeneration = false });
            second = scheduler.Submit(Greedy(model, "Once upon a time", 5));
            full = Assert.Throws<SchedulerUnavailableException>(() => scheduler.Submit(Greedy(model, "Once upon a time", 5)));
        }
        Assert.False(full.ShuttingDown);
        first.Cancel();
        await first.Completion;
        var summary = await second.CollectAsync();
        Assert.Equal(StopReason.TokenLimit, summary.Choices[0].Reason);
        await scheduler.DisposeAsync();
        Assert.True(Assert.Throws<SchedulerUnavailableException>(() => scheduler.Submit(Greedy(model, "Once upon a time", 5))).ShuttingDown);
    }

    [Fact]
    public async Task InvalidRequestsAreRefusedAtSubmission()
    {
        using var model = LoadStories();
        using var context = NewContext(model, 2, cells: 64);
        await using var scheduler = new GenerationScheduler(context);
        Assert.Throws<ArgumentException>(() => scheduler.Submit(new GenerationRequest { PromptTokens = [] }));
        Assert.Throws<ArgumentException>(() => scheduler.Submit(new GenerationRequest { PromptTokens = [1, 99999] }));
        Assert.Throws<ArgumentException>(() => scheduler.Submit(new GenerationRequest { PromptTokens = Enumerable.Repeat(5, 65).ToArray() }));
        Assert.Throws<ArgumentException>(() => scheduler.Submit(new GenerationRequest { PromptTokens = [1, 5], Choices = 3 }));
        Assert.Throws<ArgumentException>(() => scheduler.Submit(new GenerationRequest { PromptTokens = [1, 5], TopLogprobs = 21 }));
        Assert.Throws<ArgumentException>(() => scheduler.Submit(new GenerationRequest { PromptTokens = [1, 5], Sampling = new SamplingOptions { LogitBias = new Dictionary<int, float> { [600] = 1 } } }));
    }

    [Fact]
    public async Task LogprobsAreTheModelsLogSoftmax()
    {
        using var model = LoadStories();
        var prompt = model.Tokenizer.Tokenize("Once upon a time", true, true);
        float[] logits;
        using (var plain = model.CreateContext(new ContextOptions { ContextSize = 64, Threads = 1, TypeK = SharpInfer.Tensors.GgmlType.F32, TypeV = SharpInfer.Tensors.GgmlType.F32 }))
        {
            var batch = new Batch(prompt.Length);
            for (int i = 0; i < prompt.Length; i++) batch.Add(prompt[i], i, 0, i == prompt.Length - 1);
            plain.Decode(batch);
            logits = plain.GetOutputLogits(0).ToArray();
        }
        double max = logits.Max();
        double logSum = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
        var ranked = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ToArray();

        using var context = NewContext(model, 1);
        await using var scheduler = new GenerationScheduler(context);
        TokenLogprobs? first = null;
        await foreach (var e in scheduler.Submit(new GenerationRequest { PromptTokens = prompt, MaxTokens = 3, Sampling = SamplingOptions.Greedy, TopLogprobs = 5 }))
        {
            if (e is TokenGenerated t) first ??= t.Logprobs;
        }
        Assert.NotNull(first);
        Assert.Equal(ranked[0], first!.Token);
        Assert.Equal(logits[ranked[0]] - logSum, first.Logprob, 4);
        Assert.Equal(ranked[..5], first.Top.Select(t => t.Token).ToArray());
        for (int i = 0; i < 5; i++) Assert.Equal(logits[ranked[i]] - logSum, first.Top[i].Logprob, 4);
    }

    [Fact]
    public async Task StopStringsEndAChoiceWithoutEmittingThem()
    {
        using var model = LoadStories();
        string full = LoneReferences(model, ["Once upon a time"], 30)[0].Text;
        using var context = NewContext(model, 1);
        await using var scheduler = new GenerationScheduler(context);
        var result = await scheduler.Submit(Greedy(model, "Once upon a time", 30) with { StopStrings = ["Lily"] }).CollectAsync();
        Assert.Equal(StopReason.StopString, result.Choices[0].Reason);
        Assert.Equal(full[..full.IndexOf("Lily", StringComparison.Ordinal)], result.Choices[0].Text);
    }

    [Fact]
    public async Task SlotsSaveRestoreAndErase()
    {
        using var model = LoadStories();
        using var context = NewContext(model, 2);
        await using var scheduler = new GenerationScheduler(context);
        var request = Greedy(model, "Once upon a time, there was a little girl named Lily.", 10);
        var first = await scheduler.Submit(request).CollectAsync();
        var saved = new MemoryStream();
        var save = await scheduler.SaveSlotAsync(0, saved);
        Assert.Equal(request.PromptTokens.Count + 9, save.Tokens);
        Assert.Equal(saved.Length, save.Bytes);

        Assert.Equal(save.Tokens, await scheduler.EraseSlotAsync(0));
        Assert.Equal(0, context.Kv.Used);
        await Assert.ThrowsAsync<InvalidOperationException>(() => scheduler.SaveSlotAsync(0, new MemoryStream()));

        saved.Position = 0;
        Assert.Equal(save.Tokens, await scheduler.RestoreSlotAsync(1, saved));
        var again = await scheduler.Submit(request).CollectAsync();
        Assert.Equal(request.PromptTokens.Count - 1, again.Usage.CachedPromptTokens);
        Assert.Equal(first.Choices[0].Text, again.Choices[0].Text);
        await Assert.ThrowsAsync<KvStateException>(() => scheduler.RestoreSlotAsync(0, new MemoryStream([1, 2, 3, 4, 5, 6, 7, 8, 9])));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => scheduler.EraseSlotAsync(2));
    }
}
