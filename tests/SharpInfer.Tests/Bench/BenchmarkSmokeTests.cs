using SharpInfer.Bench;

namespace SharpInfer.Tests.Bench;

/// <summary>Every BenchmarkDotNet benchmark still sets up and runs, for every parameter combination.</summary>
public class BenchmarkSmokeTests
{
    public static TheoryData<string> BenchmarkNames()
    {
        var data = new TheoryData<string>();
        foreach (var type in BenchmarkSmoke.BenchmarkTypes()) data.Add(type.Name);
        return data;
    }

    [Fact]
    public void EveryKernelAndTheDecodeStepHaveABenchmark()
    {
        var names = BenchmarkSmoke.BenchmarkTypes().Select(t => t.Name).ToList();
        foreach (var expected in new[] { "QuantizedMatMulBenchmarks", "QuantizedDotBenchmarks", "ActivationQuantizerBenchmarks",
                     "FloatKernelBenchmarks", "FlashAttentionBenchmarks", "DecodeStepBenchmarks", "TokenizerBenchmarks" })
        {
            Assert.Contains(expected, names);
        }
    }

    [Theory]
    [MemberData(nameof(BenchmarkNames))]
    public void BenchmarkRunsForEveryParameterCombination(string name)
    {
        var type = BenchmarkSmoke.BenchmarkTypes().Single(t => t.Name == name);
        var cases = BenchmarkSmoke.Run(type);
        Assert.NotEmpty(cases);
    }
}
