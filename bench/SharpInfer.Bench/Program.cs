using BenchmarkDotNet.Running;
using SharpInfer.Bench;

// `--smoke` runs every benchmark once without measuring (what the test suite does); anything else goes to
// BenchmarkDotNet's switcher, e.g. `--filter *FlashAttention*` or `--list flat`.
if (args is ["--smoke"])
{
    foreach (var type in BenchmarkSmoke.BenchmarkTypes()) Console.WriteLine($"{type.Name}: {BenchmarkSmoke.Run(type).Count} cases ran");
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(BenchmarkSmoke).Assembly).Run(args);
