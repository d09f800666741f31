using System.Reflection;
using BenchmarkDotNet.Attributes;
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

    /// <summary>
    /// Every method runs once per parameter combination (counted from the attributes, not from what ran), every number
    /// a benchmark returns is finite and the same on both calls (a benchmark of garbage or of state it corrupts would
    /// not be), and a SIMD benchmark returns what its scalar twin returns: each measures the computation it names.
    /// </summary>
    [Theory]
    [MemberData(nameof(BenchmarkNames))]
    public void BenchmarkRunsForEveryParameterCombination(string name)
    {
        var type = BenchmarkSmoke.BenchmarkTypes().Single(t => t.Name == name);
        var cases = BenchmarkSmoke.Run(type);
        int combinations = type.GetProperties().Select(p => p.GetCustomAttribute<ParamsAttribute>()?.Values.Length ?? 1).Aggregate(1, (a, b) => a * b);
        int methods = type.GetMethods().Count(m => m.GetCustomAttribute<BenchmarkAttribute>() != null);
        Assert.Equal(combinations * methods, cases.Count);
        Assert.Equal(cases.Count, cases.Select(c => c.ToString()).Distinct().Count());
        foreach (var c in cases.Where(c => c.First is not null))
        {
            double first = Convert.ToDouble(c.First), second = Convert.ToDouble(c.Second);
            Assert.True(double.IsFinite(first), $"{c}: returned {first}");
            Assert.True(first == second, $"{c}: returned {first}, then {second}");
        }
        foreach (var twin in cases.Where(c => c.First is float or double && c.Method.EndsWith("Scalar", StringComparison.Ordinal)))
        {
            string simdName = twin.Method[..^"Scalar".Length] is { Length: > 0 } stem ? stem : "Simd";
            var simd = cases.Single(c => c.Parameters == twin.Parameters && (c.Method == simdName || c.Method == simdName + "Simd"));
            double a = Convert.ToDouble(simd.First), b = Convert.ToDouble(twin.First);
            Assert.True(Math.Abs(a - b) <= 1e-4 * Math.Max(1, Math.Abs(b)), $"{simd} returned {a}, its scalar twin {b}");
        }
    }
}
