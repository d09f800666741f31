using System.CommandLine;
using SharpInfer.Kernels;

namespace SharpInfer.Cli.Commands;

/// <summary>
/// <c>sharpinfer selftest</c>: compares every SIMD kernel this process would use with its scalar twin. Run it with
/// DOTNET_EnableAVX512=0, DOTNET_EnableAVX2=0 or DOTNET_EnableHWIntrinsic=0 to exercise each fallback path.
/// </summary>
internal static class SelfTestCommand
{
    public static Command Create(CliIO io)
    {
        var command = new Command("selftest", "Check the SIMD kernels of this CPU against their scalar twins");
        command.SetAction(_ =>
        {
            io.Out.WriteLine(KernelSelfCheck.DescribeIsa());
            io.Out.WriteLine(KernelSelfCheck.DescribeQuantizedKernels());
            var failures = KernelSelfCheck.RunAll();
            foreach (var f in failures.Take(50)) io.Err.WriteLine($"mismatch: {f}");
            if (failures.Count > 0)
            {
                io.Err.WriteLine($"error: {failures.Count} kernel results differ from their scalar twins");
                return CliApp.Failure;
            }
            io.Out.WriteLine("all kernels agree with their scalar twins");
            return 0;
        });
        return command;
    }
}
