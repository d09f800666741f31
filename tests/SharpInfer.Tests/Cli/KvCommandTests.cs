using System.Text.Json;

namespace SharpInfer.Tests.Cli;

public sealed class KvCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-kv-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void ContextShiftGeneratesFarBeyondTheContextOnTheCommandLine()
    {
        var r = CliRunner.Run("run", "-m", SharedData.Stories, "-p", "Once upon a time", "-n", "2000", "-c", "64", "--context-shift", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.Equal(2000, doc.RootElement.GetProperty("generated_tokens").GetArrayLength());
        Assert.Equal("token_limit", doc.RootElement.GetProperty("stop_reason").GetString());
        Assert.True(doc.RootElement.GetProperty("context_shifts").GetInt32() > 30);
    }

    [Fact]
    public void WithoutContextShiftAFullContextEndsWithExitZero()
    {
        var r = CliRunner.Run("run", "-m", SharedData.Stories, "-p", "Once upon a time", "-n", "-1", "-c", "64", "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.Equal("context_full", doc.RootElement.GetProperty("stop_reason").GetString());
        Assert.Equal(64 - 5 + 1, doc.RootElement.GetProperty("generated_tokens").GetArrayLength());
    }

    [Fact]
    public void PromptCacheSkipsThePrefillOfTheSecondRun()
    {
        string cache = Path.Combine(_dir, "prompt.kv");
        string prompt = "Lily and Tom went to the park. They saw a big dog and a little cat. The dog";
        var first = CliRunner.Run("run", "-m", SharedData.Stories, "-p", prompt, "-n", "12", "--prompt-cache", cache, "--json");
        Assert.True(first.ExitCode == 0, first.Err);
        Assert.True(File.Exists(cache));
        var second = CliRunner.Run("run", "-m", SharedData.Stories, "-p", prompt, "-n", "12", "--prompt-cache", cache);
        Assert.Contains("prompt cache: reused", second.Err);
        var secondJson = CliRunner.Run("run", "-m", SharedData.Stories, "-p", prompt, "-n", "12", "--prompt-cache", cache, "--json");
        using var a = JsonDocument.Parse(first.Out);
        using var b = JsonDocument.Parse(secondJson.Out);
        Assert.Equal(a.RootElement.GetProperty("text").GetString(), b.RootElement.GetProperty("text").GetString());
        Assert.Equal(a.RootElement.GetProperty("generated_tokens").ToString(), b.RootElement.GetProperty("generated_tokens").ToString());
        // A different prompt with the same beginning reuses the common prefix only.
        var longer = CliRunner.Run("run", "-m", SharedData.Stories, "-p", prompt + " ran", "-n", "4", "--prompt-cache", cache);
        Assert.Matches(@"reused \d+ of \d+", longer.Err);
        // A cache from another model is refused with a warning and ignored.
        var other = CliRunner.Run("run", "-m", SharedData.Synth("F32"), "-p", "Hello", "-n", "2", "--prompt-cache", cache);
        Assert.Equal(0, other.ExitCode);
        Assert.Contains("another model", other.Err);
    }

    [Fact]
    public void ParallelDecodesSeveralContinuationsOfOnePrompt()
    {
        var r = CliRunner.Run("run", "-m", SharedData.Stories, "-p", "Once upon a time", "-n", "16", "--parallel", "4", "--temp", "1", "--seed", "3", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        var seqs = doc.RootElement.GetProperty("sequences");
        Assert.Equal(4, seqs.GetArrayLength());
        var texts = seqs.EnumerateArray().Select(s => s.GetProperty("text").GetString()).ToList();
        Assert.True(texts.Distinct().Count() > 1, "four seeds gave identical continuations");
        Assert.Equal(Enumerable.Range(3, 4).Select(i => (ulong)i), seqs.EnumerateArray().Select(s => s.GetProperty("seed").GetUInt64()));
        var greedy = CliRunner.Run("run", "-m", SharedData.Stories, "-p", "Once upon a time", "-n", "16", "--parallel", "3", "--kv-unified", "false");
        Assert.Equal(3, greedy.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains(", there was a little girl named Lily")));
    }

    [Fact]
    public void KvSizeTextLineMatchesTheReportFormat()
    {
        var r = CliRunner.Run("kv-size", "-m", SharedData.Stories, "-c", "2048");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("kv cache: 1.25 MiB (2048 cells, 5 layers, 1/1 seqs), K (f16): 0.62 MiB, V (f16): 0.62 MiB", r.Out);
        Assert.Equal(1, CliRunner.Run("kv-size", "-m", SharedData.Stories, "-ctk", "q8_0").ExitCode);
    }
}
