using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Sampling;

namespace SharpInfer.Tests.Inference;

/// <summary>
/// GenerationOptions.CachedTokens: the generator keeps the cached prefix the new prompt shares, evaluates only the
/// rest, and continues exactly as a fresh evaluation of the whole prompt would (stories260K, greedy).
/// </summary>
public class CachedPrefixTests
{
    private static readonly GenerationOptions Greedy = new() { MaxTokens = 12, Sampling = SamplingOptions.Greedy };

    [Fact]
    public void OnlyTheNewPartOfAPromptIsEvaluatedAndTheContinuationMatchesAFreshRun()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        using var fresh = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        var tokenizer = model.Tokenizer;
        var generator = new Generator(context);

        int[] first = tokenizer.Tokenize("Once upon a time, there was a little dog.");
        var r1 = generator.Generate(first, Greedy);
        Assert.Equal(0, r1.PromptTokensReused);
        // The cache holds the prompt and every generated token but the last (sampled, never decoded).
        int[] cached = [.. first, .. r1.GeneratedTokens[..^1]];
        Assert.Equal(cached.Length, context.Kv.SeqPosMax(0) + 1);

        // A longer prompt that starts with everything cached: all of it is reused.
        int[] second = [.. cached, .. tokenizer.Tokenize(" The dog liked to run.", addSpecial: false)];
        var r2 = generator.Generate(second, Greedy with { CachedTokens = cached });
        Assert.Equal(cached.Length, r2.PromptTokensReused);
        Assert.Equal(second.Length - cached.Length, r2.Timings.PromptTokens);
        Assert.Equal(new Generator(fresh).Generate(second, Greedy).GeneratedTokens, r2.GeneratedTokens);

        // A prompt that parts from the cache at token 5: tokens 5.. are replaced.
        cached = [.. second, .. r2.GeneratedTokens[..^1]];
        int[] third = [.. first[..5], .. tokenizer.Tokenize(" a big red ball", addSpecial: false)];
        var r3 = generator.Generate(third, Greedy with { CachedTokens = cached });
        Assert.Equal(5, r3.PromptTokensReused);
        fresh.Kv.Clear();
        Assert.Equal(new Generator(fresh).Generate(third, Greedy).GeneratedTokens, r3.GeneratedTokens);
    }

    [Fact]
    public void TheSamePromptAgainReusesAllButItsLastToken()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 128, Threads = 1 });
        var generator = new Generator(context);
        int[] prompt = model.Tokenizer.Tokenize("Lily went to the park.");
        var r1 = generator.Generate(prompt, Greedy);
        var r2 = generator.Generate(prompt, Greedy with { CachedTokens = [.. prompt, .. r1.GeneratedTokens[..^1]] });
        Assert.Equal(prompt.Length - 1, r2.PromptTokensReused);
        Assert.Equal(r1.GeneratedTokens, r2.GeneratedTokens);
    }
}
