using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Sampling;

namespace SharpInfer.Tests.Inference;

public class GeneratorTests
{
    [Fact]
    public async Task GenerateAsyncStreamsTheSameTextAsTheResult()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 128 });
        GenerationResult? result = null;
        var pieces = new List<string>();
        await foreach (var piece in new Generator(context).GenerateAsync("Once upon a time", new GenerationOptions { MaxTokens = 30, Sampling = SamplingOptions.Greedy }, r => result = r))
        {
            pieces.Add(piece);
        }
        Assert.NotNull(result);
        Assert.True(pieces.Count > 5);
        Assert.Equal(result!.Text, string.Concat(pieces));
        Assert.StartsWith(", there was a little girl named Lily", result.Text);
    }

    [Fact]
    public async Task BreakingOutOfGenerateAsyncStopsGenerationBeforeTheLoopEnds()
    {
        var model = Model.Load(SharedData.Stories);
        var context = model.CreateContext(new ContextOptions { ContextSize = 512 });
        GenerationResult? result = null;
        int pieces = 0;
        // Endless generation (no limit, no end token, context shifts): only the cancellation can end it.
        var options = new GenerationOptions { MaxTokens = -1, Sampling = SamplingOptions.Greedy, StopAtEndOfGeneration = false, ContextShift = true };
        await foreach (var piece in new Generator(context).GenerateAsync("Once upon a time", options, r => result = r))
        {
            if (++pieces == 2) break;
        }
        // The worker has stopped by now, so the caller may free the context and the model at once.
        Assert.NotNull(result);
        Assert.Equal(StopReason.Cancelled, result!.StopReason);
        context.Dispose();
        model.Dispose();
    }

    [Fact]
    public void CancellationStopsGenerationCleanly()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 512 });
        using var cts = new CancellationTokenSource();
        int pieces = 0;
        var result = new Generator(context).Generate("Once upon a time", new GenerationOptions { MaxTokens = 400, Sampling = SamplingOptions.Greedy }, _ =>
        {
            if (++pieces == 3) cts.Cancel();
        }, cts.Token);
        Assert.Equal(StopReason.Cancelled, result.StopReason);
        Assert.True(result.GeneratedTokens.Length < 10);
    }

    [Fact]
    public void StopMatcherHoldsBackPartialStopStrings()
    {
        var m = new StopStringMatcher(["<end>", "STOP"]);
        Assert.Equal("abc", m.Push("abc<e"));
        Assert.Equal("<ex", m.Push("x"));
        var n = new StopStringMatcher(["STOP"]);
        Assert.Equal("hello ", n.Push("hello ST"));
        Assert.Equal("", n.Push("O"));
        Assert.Equal("", n.Push("P and more"));
        Assert.True(n.Stopped);
        var tail = new StopStringMatcher(["STOP"]);
        Assert.Equal("ab", tail.Push("abST"));
        Assert.Equal("ST", tail.Flush());
    }

    [Fact]
    public void EndOfGenerationStopsAndIsNotPrinted()
    {
        using var model = Model.Load(SharedData.Synth("F32"));
        using var context = model.CreateContext(new ContextOptions { ContextSize = 128 });
        // The reference's third prompt continues greedily into EOS after three tokens.
        var c = SharpInfer.Tests.Models.ReferenceFile.Load("synth-llama-F32").Cases[2];
        var result = new Generator(context).Generate(c.Prompt, new GenerationOptions { MaxTokens = 50, Sampling = SamplingOptions.Greedy });
        Assert.Equal(StopReason.EndOfGeneration, result.StopReason);
        Assert.Equal(c.Greedy, result.GeneratedTokens);
        Assert.Equal(model.Tokenizer.Vocabulary.Eos, result.GeneratedTokens[^1]);
    }
}
