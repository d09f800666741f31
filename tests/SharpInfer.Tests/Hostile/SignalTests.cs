using SharpInfer.Gguf;
using SharpInfer.Tensors;
using SharpInfer.Tests.Cli;

namespace SharpInfer.Tests.Hostile;

/// <summary>
/// Interrupted writers leave nothing behind: the first SIGINT or SIGTERM cancels <c>synth</c> (and any writer) with
/// exit code 130 or 143 and removes its temporary file; a SIGKILL leaves one, which the next write to the same path
/// removes; an existing output is byte-identical whenever a write does not complete.
/// </summary>
public sealed class SignalTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-signal-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Output => Path.Combine(_dir, "out.gguf");

    private string[] Temporaries => Directory.GetFiles(_dir, "out.gguf.tmp-*");

    /// <summary>A small GGUF at the output path, whose bytes must survive an interrupted write.</summary>
    private byte[] PreviousOutput()
    {
        var w = new GgufWriter();
        w.AddTensor("previous", GgmlType.F32, [8], new byte[32]);
        w.Save(Output);
        return File.ReadAllBytes(Output);
    }

    /// <summary>A synth long enough to interrupt (TinyLlama's shape takes tens of seconds), with its temporary file already open.</summary>
    private ChildCli StartSynth()
    {
        var child = new ChildCli("synth", "--shape", "tinyllama-1.1b", "--type", "Q8_0", "-o", Output, "--vocab-from", SharedData.File("vocab/ggml-vocab-llama-spm.gguf"));
        Assert.True(child.WaitUntil(() => Temporaries.Length > 0, TimeSpan.FromSeconds(90)), "synth never started writing");
        return child;
    }

    [SignalFact(needsSigInt: true)]
    public void TheFirstSigIntCancelsAndRemovesTheTemporaryFile() => CancelWith(ChildCli.SigInt, 130);

    [SignalFact]
    public void TheFirstSigTermCancelsAndRemovesTheTemporaryFile() => CancelWith(ChildCli.SigTerm, 143);

    private void CancelWith(int signal, int expectedCode)
    {
        byte[] before = PreviousOutput();
        using var child = StartSynth();
        child.Signal(signal);
        var (code, _, err) = child.Wait(TimeSpan.FromSeconds(60));
        Assert.True(code == expectedCode, $"exit code {code}, stderr: {err}");
        Assert.Contains("cancelled", err);
        Assert.Empty(Temporaries);
        Assert.Equal(before, File.ReadAllBytes(Output));
    }

    [SignalFact]
    public void ATemporaryFileLeftByAKilledWriterIsRemovedByTheNextWrite()
    {
        byte[] before = PreviousOutput();
        using (var child = StartSynth())
        {
            child.Signal(ChildCli.SigKill);
            var (code, _, _) = child.Wait(TimeSpan.FromSeconds(60));
            Assert.Equal(137, code);
        }
        Assert.Single(Temporaries);
        Assert.Equal(before, File.ReadAllBytes(Output));

        var r = CliRunner.Run("quantize", SharedData.Stories, Output, "F16");
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Empty(Temporaries);
        using var written = GgufFile.Open(Output);
        Assert.NotNull(written.FindTensor("token_embd.weight"));
    }

    /// <summary>In-process, the token a signal cancels: every long command stops with 130 and leaves no file behind.</summary>
    [Theory]
    [InlineData("quantize")]
    [InlineData("synth")]
    [InlineData("run")]
    [InlineData("kv-quality")]
    public void ACancelledCommandExits130AndLeavesNothing(string command)
    {
        string[] args = command switch
        {
            "quantize" => ["quantize", SharedData.Synth("F32"), Output, "Q4_K_M"],
            "synth" => ["synth", "--shape", "smollm-135m", "--type", "Q8_0", "-o", Output, "--vocab-from", SharedData.File("vocab/ggml-vocab-llama-spm.gguf")],
            "run" => ["run", "-m", SharedData.Stories, "-p", "Once upon a time", "--prompt-cache", Path.Combine(_dir, "cache.state")],
            _ => ["kv-quality", "-m", SharedData.Stories],
        };
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var stderr = new StringWriter();
        int code = SharpInfer.Cli.CliApp.RunAsync(args, new StringWriter(), stderr, cancel.Token).GetAwaiter().GetResult();
        Assert.True(code == 130, $"exit code {code}: {stderr}");
        Assert.Contains("cancelled", stderr.ToString());
        Assert.Empty(Directory.GetFiles(_dir));
    }
}
