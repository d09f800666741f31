using SharpInfer.Gguf;
using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Sampling;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Inference;

/// <summary>
/// The embeddings mode of the forward pass and its pooling. The hidden states are checked against an independent
/// reference (the logits are the output matrix times the final-normed hidden state), the pooling against sums taken
/// here, and the scheduler's embeddings against the plain context path and against a generation running beside them.
/// </summary>
public class EmbeddingTests
{
    private static InferenceContext NewContext(Model model, int sequences = 1, int cells = 512, int ubatch = 512) =>
        model.CreateContext(new ContextOptions { ContextSize = cells, MicroBatchSize = ubatch, MaxSequences = sequences, Threads = 1, TypeK = GgmlType.F32, TypeV = GgmlType.F32 });

    [Fact]
    public unsafe void HiddenStatesTimesTheOutputMatrixAreTheLogits()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = NewContext(model);
        var tokens = model.Tokenizer.Tokenize("Once upon a time, there was a dog");
        var batch = new Batch(tokens.Length);
        for (int i = 0; i < tokens.Length; i++) batch.Add(tokens[i], i, 0, true);
        context.DecodeHidden(batch);
        var hidden = Enumerable.Range(0, tokens.Length).Select(i => context.GetOutputHidden(i).ToArray()).ToArray();
        Assert.Throws<InvalidOperationException>(() => context.GetOutputLogits(0));
        context.Kv.Clear();
        context.Decode(batch);
        var file = model.File;
        var output = file.Tensors.FirstOrDefault(t => t.Name == "output.weight") ?? file.Tensors.Single(t => t.Name == "token_embd.weight");
        Assert.Equal(GgmlType.F32, output.Type);
        float* w = (float*)file.GetDataPointer(output);
        int d = context.EmbeddingLength, vocab = context.VocabSize;
        for (int i = 0; i < tokens.Length; i++)
        {
            var logits = context.GetOutputLogits(i);
            for (int v = 0; v < vocab; v++)
            {
                double dot = 0;
                for (int k = 0; k < d; k++) dot += (double)w[(long)v * d + k] * hidden[i][k];
                Assert.True(Math.Abs(dot - logits[v]) < 1e-4 * (1 + Math.Abs(dot)), $"token {i}, logit {v}: {dot} vs {logits[v]}");
            }
        }
    }

    [Theory]
    [InlineData(PoolingType.Mean)]
    [InlineData(PoolingType.Cls)]
    [InlineData(PoolingType.Last)]
    public void PoolingTakesTheRightRowsAndNormalises(PoolingType pooling)
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = NewContext(model, ubatch: 4);
        var tokens = model.Tokenizer.Tokenize("The little dog ran to the park");
        var batch = new Batch(tokens.Length);
        for (int i = 0; i < tokens.Length; i++) batch.Add(tokens[i], i, 0, true);
        context.DecodeHidden(batch);
        var rows = Enumerable.Range(0, tokens.Length).Select(i => context.GetOutputHidden(i).ToArray()).ToArray();
        context.Kv.Clear();
        var expected = pooling switch
        {
            PoolingType.Cls => rows[0].Select(v => (double)v).ToArray(),
            PoolingType.Last => rows[^1].Select(v => (double)v).ToArray(),
            _ => Enumerable.Range(0, rows[0].Length).Select(k => rows.Average(r => (double)r[k])).ToArray(),
        };
        double norm = Math.Sqrt(expected.Sum(v => v * v));
        // Micro-batches of 4 tokens: the chunked evaluation must give what one batch gave.
        var embedding = EmbeddingComputation.Run(context, tokens, 0, pooling);
        Assert.Equal(expected.Length, embedding.Length);
        for (int k = 0; k < expected.Length; k++) Assert.Equal(expected[k] / norm, embedding[k], 1e-5);
        Assert.Equal(1.0, Math.Sqrt(embedding.Sum(v => (double)v * v)), 1e-5);
        Assert.Equal(-1, context.Kv.SeqPosMax(0));
    }

    [Theory]
    [InlineData(null, PoolingType.Mean)]
    [InlineData(0L, PoolingType.Mean)]
    [InlineData(1L, PoolingType.Mean)]
    [InlineData(2L, PoolingType.Cls)]
    [InlineData(3L, PoolingType.Last)]
    public void PoolingComesFromTheMetadata(long? value, PoolingType expected)
    {
        var metadata = new GgufMetadata();
        if (value is { } v) metadata.Set("llama.pooling_type", GgufValue.FromUInt32((uint)v));
        Assert.Equal(expected, EmbeddingPooling.FromMetadata(metadata, "llama"));
    }

    [Theory]
    [InlineData(4L, "rank")]
    [InlineData(9L, "not a known pooling type")]
    public void RerankersAndUnknownPoolingAreRefused(long value, string message)
    {
        var metadata = new GgufMetadata();
        metadata.Set("llama.pooling_type", GgufValue.FromUInt32((uint)value));
        var e = Assert.Throws<NotSupportedException>(() => EmbeddingPooling.FromMetadata(metadata, "llama"));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public async Task SchedulerEmbeddingsMatchThePlainPathAndLeaveGenerationUntouched()
    {
        using var model = Model.Load(SharedData.Stories);
        string[] texts = ["Once upon a time", "The little dog ran to the park and played with a ball all day long", "Lily"];
        float[][] expected;
        using (var plain = NewContext(model))
        {
            expected = texts.Select(t => EmbeddingComputation.Run(plain, model.Tokenizer.Tokenize(t), 0, PoolingType.Mean)).ToArray();
        }
        string alone;
        var request = new GenerationRequest { PromptTokens = model.Tokenizer.Tokenize("Tim had a red ball"), MaxTokens = 40, Sampling = SamplingOptions.Greedy, StopAtEndOfGeneration = false };
        using (var context = NewContext(model, GenerationScheduler.RequiredSequences(2)))
        await using (var scheduler = new GenerationScheduler(context, new SchedulerOptions { MaxRunningSequences = 2, StepTokens = 8, VerifyEveryStep = true }))
        {
            alone = (await scheduler.Submit(request).CollectAsync()).Choices[0].Text;
        }
        using (var context = NewContext(model, GenerationScheduler.RequiredSequences(2)))
        await using (var scheduler = new GenerationScheduler(context, new SchedulerOptions { MaxRunningSequences = 2, StepTokens = 8, VerifyEveryStep = true }))
        {
            var generation = scheduler.Submit(request).CollectAsync();
            var embeddings = texts.Select(t => scheduler.EmbedAsync(model.Tokenizer.Tokenize(t), PoolingType.Mean)).ToArray();
            var results = await Task.WhenAll(embeddings);
            Assert.Equal(alone, (await generation).Choices[0].Text);
            for (int i = 0; i < texts.Length; i++)
            {
                Assert.Equal(model.Tokenizer.Tokenize(texts[i]).Length, results[i].Tokens);
                for (int k = 0; k < expected[i].Length; k++) Assert.Equal(expected[i][k], results[i].Vector[k], 1e-5);
            }
            Assert.Equal(0, context.Kv.Main.SeqCellCount(scheduler.MaxRunningSequences + 2));
        }
    }

    [Fact]
    public async Task AnEmbeddingShortOfCellsWaitsAndBothSidesStayCorrect()
    {
        using var model = Model.Load(SharedData.Stories);
        var text = model.Tokenizer.Tokenize("The little dog ran to the park and played with a big red ball all day long with Lily");
        float[] expected;
        using (var plain = NewContext(model)) expected = EmbeddingComputation.Run(plain, text, 0, PoolingType.Last);
        var request = new GenerationRequest { PromptTokens = model.Tokenizer.Tokenize("Tim had a red ball"), MaxTokens = 40, Sampling = SamplingOptions.Greedy, StopAtEndOfGeneration = false };
        string alone;
        using (var context = NewContext(model, GenerationScheduler.RequiredSequences(2), cells: 64))
        await using (var scheduler = new GenerationScheduler(context, new SchedulerOptions { MaxRunningSequences = 2, StepTokens = 8, VerifyEveryStep = true }))
        {
            alone = (await scheduler.Submit(request).CollectAsync()).Choices[0].Text;
        }
        // 64 cells: the generation grows to 46 of them, so the 22-token embedding cannot have its cells until it ends.
        using (var context = NewContext(model, GenerationScheduler.RequiredSequences(2), cells: 64))
        await using (var scheduler = new GenerationScheduler(context, new SchedulerOptions { MaxRunningSequences = 2, StepTokens = 8, PrefixCache = false, VerifyEveryStep = true }))
        {
            var generation = scheduler.Submit(request).CollectAsync();
            await Task.Delay(50);
            var embedding = scheduler.EmbedAsync(text, PoolingType.Last);
            var later = scheduler.Submit(request).CollectAsync();
            Assert.Equal(alone, (await generation).Choices[0].Text);
            var result = await embedding;
            for (int k = 0; k < expected.Length; k++) Assert.Equal(expected[k], result.Vector[k], 1e-5);
            Assert.Equal(alone, (await later).Choices[0].Text);
        }
    }

    [Fact]
    public async Task SchedulerRefusesBadEmbeddingInputsAndHonoursCancellation()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = NewContext(model, GenerationScheduler.RequiredSequences(1), cells: 64);
        await using var scheduler = new GenerationScheduler(context, new SchedulerOptions { MaxRunningSequences = 1 });
        Assert.Throws<ArgumentException>(() => { _ = scheduler.EmbedAsync([], PoolingType.Mean); });
        Assert.Throws<ArgumentException>(() => { _ = scheduler.EmbedAsync([context.VocabSize], PoolingType.Mean); });
        Assert.Throws<ArgumentException>(() => { _ = scheduler.EmbedAsync(new int[65], PoolingType.Mean); });
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => scheduler.EmbedAsync([1, 2, 3], PoolingType.Mean, cancelled.Token));
        var after = await scheduler.EmbedAsync([1, 2, 3], PoolingType.Last);
        Assert.Equal(context.EmbeddingLength, after.Vector.Length);
    }
}
