using SharpInfer.Sampling;

namespace SharpInfer.Tests.Sampling;

public class SamplerTests
{
    private static float[] LogitsFromProbabilities(params double[] p) => p.Select(x => (float)Math.Log(x)).ToArray();

    [Fact]
    public void GreedyTakesTheArgmaxAndTheLowestIdOnTies()
    {
        var s = new Sampler(SamplingOptions.Greedy, 5);
        Assert.Equal(2, s.Sample([0f, 1f, 3f, 3f, -1f]));
    }

    [Fact]
    public void TopKOfOneIsGreedyWhateverTheTemperature()
    {
        var s = new Sampler(new SamplingOptions { Temperature = 5f, TopK = 1, Seed = 3 }, 4);
        for (int i = 0; i < 200; i++) Assert.Equal(1, s.Sample([0.1f, 0.9f, 0.5f, 0.2f]));
    }

    [Fact]
    public void LogitBiasCanBanATokenOutright()
    {
        var s = new Sampler(SamplingOptions.Greedy with { LogitBias = new Dictionary<int, float> { [1] = float.NegativeInfinity } }, 3);
        Assert.Equal(2, s.Sample([0f, 9f, 5f]));
        Assert.Throws<ArgumentException>(() => new Sampler(SamplingOptions.Greedy with { LogitBias = new Dictionary<int, float> { [7] = 1 } }, 3));
    }

    [Fact]
    public void RepeatPenaltyDividesPositiveAndMultipliesNegativeLogits()
    {
        var s = new Sampler(SamplingOptions.Greedy with { RepeatPenalty = 2f }, 3);
        Assert.Equal(0, s.Sample([3f, 2f, 1f]));
        s.Accept(0);
        Assert.Equal(1, s.Sample([3f, 2f, 1f]));
        var negative = new Sampler(SamplingOptions.Greedy with { RepeatPenalty = 2f }, 2);
        negative.Accept(0);
        Assert.Equal(1, negative.Sample([-1f, -1.5f]));
    }

    [Fact]
    public void FrequencyAndPresencePenaltiesSubtract()
    {
        var s = new Sampler(SamplingOptions.Greedy with { FrequencyPenalty = 0.4f, PresencePenalty = 0.15f }, 2);
        s.Accept(0);
        s.Accept(0);
        // 3 − 2·0.4 − 0.15 = 2.05 < 2.1
        Assert.Equal(1, s.Sample([3f, 2.1f]));
        var lighter = new Sampler(SamplingOptions.Greedy with { FrequencyPenalty = 0.4f, PresencePenalty = 0.15f }, 2);
        lighter.Accept(0);
        Assert.Equal(0, lighter.Sample([3f, 2.1f]));
    }

    [Fact]
    public void PenaltiesOnlyLookAtTheLastNTokens()
    {
        var s = new Sampler(SamplingOptions.Greedy with { RepeatPenalty = 10f, PenaltyLastN = 2 }, 3);
        s.Accept(0);
        s.Accept(1);
        s.Accept(1);
        Assert.Equal(0, s.Sample([3f, 2f, 1f]));
    }

    [Fact]
    public void MinPAndTopPCutTheTail()
    {
        var logits = LogitsFromProbabilities(0.5, 0.3, 0.15, 0.05);
        var minP = new Sampler(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 1, MinP = 0.2f, Seed = 1 }, 4);
        var topP = new Sampler(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 0.6f, MinP = 0, Seed = 1 }, 4);
        var seenMinP = new HashSet<int>();
        var seenTopP = new HashSet<int>();
        for (int i = 0; i < 3000; i++)
        {
            seenMinP.Add(minP.Sample(logits));
            seenTopP.Add(topP.Sample(logits));
        }
        Assert.Equal([0, 1, 2], seenMinP.Order());
        Assert.Equal([0, 1], seenTopP.Order());
    }

    [Fact]
    public void DrawsFollowTheSoftmaxDistribution()
    {
        double[] p = [0.45, 0.25, 0.2, 0.1];
        var s = new Sampler(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 1, MinP = 0, Seed = 42 }, 4);
        var counts = new int[4];
        const int draws = 40000;
        for (int i = 0; i < draws; i++) counts[s.Sample(LogitsFromProbabilities(p))]++;
        for (int i = 0; i < 4; i++) Assert.InRange(counts[i] / (double)draws, p[i] - 0.015, p[i] + 0.015);
    }

    [Fact]
    public void TemperatureSharpensAndFlattens()
    {
        var logits = LogitsFromProbabilities(0.6, 0.4);
        int Count(float temp)
        {
            var s = new Sampler(new SamplingOptions { Temperature = temp, TopK = 0, TopP = 1, MinP = 0, Seed = 5 }, 2);
            int zero = 0;
            for (int i = 0; i < 20000; i++) if (s.Sample(logits) == 0) zero++;
            return zero;
        }
        Assert.True(Count(0.3f) > Count(1f) + 2000);
        Assert.True(Count(3f) < Count(1f) - 1000);
    }

    [Fact]
    public void SameSeedSameSequence()
    {
        var logits = Enumerable.Range(0, 100).Select(i => (float)Math.Sin(i)).ToArray();
        int[] Run(ulong seed)
        {
            var s = new Sampler(new SamplingOptions { Temperature = 1.2f, TopK = 50, Seed = seed }, 100);
            return Enumerable.Range(0, 50).Select(_ => s.Sample(logits)).ToArray();
        }
        Assert.Equal(Run(7), Run(7));
        Assert.NotEqual(Run(7), Run(8));
    }

    [Fact]
    public void TypicalKeepsTokensNearTheEntropy()
    {
        // Entropy sits near the surprise of the mid tokens; the most likely token is atypical here.
        var logits = LogitsFromProbabilities(0.4, 0.15, 0.15, 0.15, 0.15);
        var s = new Sampler(new SamplingOptions { Temperature = 1, TopK = 0, TopP = 1, MinP = 0, TypicalP = 0.5f, Seed = 2 }, 5);
        var seen = new HashSet<int>();
        for (int i = 0; i < 2000; i++) seen.Add(s.Sample(logits));
        Assert.DoesNotContain(0, seen);
    }

    [Fact]
    public void OutOfRangeSettingsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplingOptions { TopP = 1.5f }, 10));
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplingOptions { MinP = -0.1f }, 10));
        Assert.Throws<ArgumentException>(() => new Sampler(new SamplingOptions { RepeatPenalty = 0 }, 10));
        Assert.Throws<ArgumentException>(() => new Sampler(SamplingOptions.Greedy, 3).Sample([1f, 2f]));
    }

    [Fact]
    public void SamplingAllocatesNothingPerToken()
    {
        var s = new Sampler(new SamplingOptions { Temperature = 0.8f, RepeatPenalty = 1.1f, Seed = 1 }, 32000);
        var logits = Enumerable.Range(0, 32000).Select(i => (float)Math.Sin(i * 0.37) * 4).ToArray();
        for (int i = 0; i < 20; i++) s.Accept(s.Sample(logits));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 50; i++) s.Accept(s.Sample(logits));
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
