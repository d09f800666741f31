using System.Reflection;
using BenchmarkDotNet.Attributes;

namespace SharpInfer.Bench;

/// <summary>
/// Runs every benchmark once per parameter combination without measuring (setup, each benchmark method twice,
/// cleanup), so a benchmark that no longer runs is caught by the test suite instead of at the next measurement.
/// </summary>
public static class BenchmarkSmoke
{
    /// <summary>The benchmark classes of this assembly.</summary>
    public static IReadOnlyList<Type> BenchmarkTypes() => typeof(BenchmarkSmoke).Assembly.GetTypes()
        .Where(t => t.IsPublic && !t.IsAbstract && t.GetMethods().Any(m => m.GetCustomAttribute<BenchmarkAttribute>() != null))
        .OrderBy(t => t.Name)
        .ToList();

    /// <summary>One benchmark method run for one parameter combination, with what its two calls returned (null for void).</summary>
    public sealed record Case(string Parameters, string Method, object? First, object? Second)
    {
        /// <summary>Parameters and method, e.g. <c>QuantizedDotBenchmarks(Type=Q4_0).Simd</c>.</summary>
        public override string ToString() => $"{Parameters}.{Method}";
    }

    /// <summary>Runs <paramref name="type"/>'s benchmarks for every combination of its parameters; returns the cases run.</summary>
    public static List<Case> Run(Type type)
    {
        var parameters = type.GetProperties()
            .Select(p => (Property: p, Values: p.GetCustomAttribute<ParamsAttribute>()?.Values))
            .Where(p => p.Values != null)
            .ToList();
        var benchmarks = type.GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() != null).ToList();
        var setup = type.GetMethods().FirstOrDefault(m => m.GetCustomAttribute<GlobalSetupAttribute>() != null);
        var cleanup = type.GetMethods().FirstOrDefault(m => m.GetCustomAttribute<GlobalCleanupAttribute>() != null);
        var cases = new List<Case>();
        foreach (var combination in Combinations(parameters.Select(p => p.Values!).ToList()))
        {
            var instance = Activator.CreateInstance(type)!;
            for (int i = 0; i < parameters.Count; i++) parameters[i].Property.SetValue(instance, combination[i]);
            string name = $"{type.Name}({string.Join(", ", parameters.Select((p, i) => $"{p.Property.Name}={combination[i]}"))})";
            setup?.Invoke(instance, null);
            try
            {
                foreach (var benchmark in benchmarks)
                {
                    object? first = benchmark.Invoke(instance, null);
                    object? second = benchmark.Invoke(instance, null);
                    cases.Add(new Case(name, benchmark.Name, first, second));
                }
            }
            finally
            {
                cleanup?.Invoke(instance, null);
            }
        }
        return cases;
    }

    private static IEnumerable<object?[]> Combinations(List<object?[]> values)
    {
        if (values.Count == 0)
        {
            yield return [];
            yield break;
        }
        foreach (var rest in Combinations(values.Skip(1).ToList()))
        {
            foreach (var first in values[0]) yield return [first, .. rest];
        }
    }
}
