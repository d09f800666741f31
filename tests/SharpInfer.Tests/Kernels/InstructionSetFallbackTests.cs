using System.Diagnostics;

namespace SharpInfer.Tests.Kernels;

/// <summary>
/// Runs <c>sharpinfer selftest</c> in child processes with instruction sets switched off, so the 256-bit, 128-bit,
/// no-VNNI and scalar paths are each compared with the scalar twins even on a machine that has AVX-512. Without AVX2
/// the quantized kernels in use are the scalar twins themselves: those legs must say so, and check the twins against
/// dequantized references instead of against themselves.
/// </summary>
public class InstructionSetFallbackTests
{
    private const string Simd = "quantized kernels: SIMD, checked against their scalar twins";
    private const string Scalar = "quantized kernels: scalar (the twins themselves), checked against dequantized references";

    public static TheoryData<string, string, string> Settings => new()
    {
        // .NET 10 reads DOTNET_EnableAVX512; DOTNET_EnableAVX512F is the older name, set both.
        { "DOTNET_EnableAVX512F=0;DOTNET_EnableAVX512=0", "Vector512=False Vector256=True", Simd },
        { "DOTNET_EnableAVXVNNI=0", "AvxVnni=False", Simd },
        { "DOTNET_EnableAVX2=0", "Vector256=False Vector128=True", Scalar },
        { "DOTNET_EnableHWIntrinsic=0", "Vector512=False Vector256=False Vector128=False", Scalar },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public async Task KernelsAgreeWithTwinsWhenInstructionSetsAreOff(string environment, string expectedIsa, string expectedQuantized)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "SharpInfer.Cli.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(cli);
        start.ArgumentList.Add("selftest");
        foreach (var pair in environment.Split(';'))
        {
            var parts = pair.Split('=');
            start.Environment[parts[0]] = parts[1];
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        string output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, output);
        // The switch must really have taken effect, or this test would check the fast path twice.
        Assert.Contains(expectedIsa, output);
        Assert.Contains(expectedQuantized, output);
        Assert.Contains("all kernels agree", output);
    }
}
