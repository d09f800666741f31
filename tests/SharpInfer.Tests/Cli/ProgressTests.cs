using SharpInfer.Cli;

namespace SharpInfer.Tests.Cli;

/// <summary>
/// Progress lines: drawn in place on stderr when it is a terminal (quantize with tensors and bytes, a long prompt,
/// bench runs), erased when the work ends, and absent when stderr is not a terminal or with <c>--quiet</c>.
/// </summary>
public sealed class ProgressTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-progress-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CliRunner.Result RunAtTerminal(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var io = new CliIO(stdout, stderr, CancellationToken.None) { ErrIsTerminal = true };
        int code = CliApp.RunAsync(args, io).GetAwaiter().GetResult();
        return new CliRunner.Result(code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void QuantizeDrawsTensorsAndBytesThenErasesTheLine()
    {
        string output = Path.Combine(_dir, "q.gguf");
        var r = RunAtTerminal("quantize", SharedData.Synth("F32"), output, "Q8_0");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("\r\u001b[Kquantize: [", r.Err);
        Assert.Matches(@"100 % \d+ of \d+ tensors, [0-9.]+ [KM]iB of [0-9.]+ [KM]iB", r.Err);
        Assert.EndsWith("\r\u001b[K", r.Err);
        Assert.DoesNotContain("\r", r.Out);

        Assert.Equal("", RunAtTerminal("quantize", SharedData.Synth("F32"), output, "Q8_0", "--quiet").Err);
        Assert.Equal("", CliRunner.Run("quantize", SharedData.Synth("F32"), output, "Q8_0").Err);
    }

    [Fact]
    public void LongPromptsAndBenchRunsShowProgress()
    {
        string prompt = string.Join(' ', Enumerable.Repeat("Once upon a time there was a dog.", 12));
        var run = RunAtTerminal("run", "-m", SharedData.Stories, "-p", prompt, "-n", "2", "-ub", "16", "-t", "1");
        Assert.True(run.ExitCode == 0, run.Err);
        Assert.Contains("prompt: [", run.Err);
        Assert.Contains("tokens", run.Err);
        Assert.DoesNotContain("prompt: [", RunAtTerminal("run", "-m", SharedData.Stories, "-p", "Hi", "-n", "2", "-t", "1").Err);

        var bench = RunAtTerminal("bench", "-m", SharedData.Stories, "-p", "16", "-n", "4", "-r", "1", "-t", "1");
        Assert.True(bench.ExitCode == 0, bench.Err);
        Assert.Contains("bench: [", bench.Err);
        Assert.Contains("4 of 4 runs", bench.Err);
        Assert.DoesNotContain("\r", bench.Out);
    }
}
