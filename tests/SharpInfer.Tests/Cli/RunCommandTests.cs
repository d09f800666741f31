using System.Text.Json;
using SharpInfer.Tests.Models;

namespace SharpInfer.Tests.Cli;

public class RunCommandTests
{
    [Fact]
    public void GreedyRunPrintsTheReferenceContinuation()
    {
        foreach (var c in ReferenceFile.Load("stories260K").Cases)
        {
            var r = CliRunner.Run("run", "-m", SharedData.Stories, "-p", c.Prompt, "--temp", "0", "-n", "48", "-t", "2");
            Assert.True(r.ExitCode == 0, r.Err);
            Assert.Equal(c.GreedyText + Environment.NewLine, r.Out);
            Assert.Contains("t/s", r.Err);
        }
    }

    [Fact]
    public void DefaultRunTellsTheLilyStory()
    {
        var r = CliRunner.Run("run", "-m", SharedData.Stories, "-p", "Once upon a time");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith(", there was a little girl named Lily.", r.Out);
    }

    [Fact]
    public void JsonHasTokensTextStopReasonAndTimings()
    {
        var r = CliRunner.Run("run", "-m", SharedData.Stories, "-p", "Once upon a time", "-n", "10", "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Equal([1, 403, 407, 261, 378], root.GetProperty("prompt_tokens").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(10, root.GetProperty("generated_tokens").GetArrayLength());
        Assert.StartsWith(", there was", root.GetProperty("text").GetString());
        Assert.Equal("token_limit", root.GetProperty("stop_reason").GetString());
        var t = root.GetProperty("timings");
        foreach (var key in new[] { "load_ms", "prompt_ms", "prompt_tps", "gen_ms", "gen_tps" }) Assert.True(t.GetProperty(key).GetDouble() >= 0);
    }

    [Fact]
    public void SameSeedSameOutput()
    {
        string[] args = ["run", "-m", SharedData.Stories, "-p", "Once upon a time", "-n", "40", "--temp", "0.9", "--seed", "1234", "--json"];
        var a = CliRunner.Run(args);
        var b = CliRunner.Run(args);
        var c = CliRunner.Run(["run", "-m", SharedData.Stories, "-p", "Once upon a time", "-n", "40", "--temp", "0.9", "--seed", "99", "--json"]);
        string Text(CliRunner.Result r) => JsonDocument.Parse(r.Out).RootElement.GetProperty("text").GetString()!;
        Assert.Equal(Text(a), Text(b));
        Assert.NotEqual(Text(a), Text(c));
    }

    [Fact]
    public void StopStringsEndGenerationWithoutPrintingTheStop()
    {
        var r = CliRunner.Run("run", "-m", SharedData.Stories, "-p", "Once upon a time", "--stop", "Lily", "--json");
        using var doc = JsonDocument.Parse(r.Out);
        Assert.Equal("stop_string", doc.RootElement.GetProperty("stop_reason").GetString());
        Assert.Equal(", there was a little girl named ", doc.RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public void AFullContextEndsCleanlyWithExitCodeZero()
    {
        var r = CliRunner.Run("run", "-m", SharedData.Stories, "-p", "Once upon a time", "-c", "32", "-n", "-1");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("context of 32 tokens is full", r.Err);
    }

    [Fact]
    public void APromptLongerThanTheContextIsAClearError()
    {
        var r = CliRunner.Run("run", "-m", SharedData.Stories, "-p", string.Join(' ', Enumerable.Repeat("Once upon a time", 40)), "-c", "16");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("the prompt is", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
    }

    [Fact]
    public void BadOptionsAreRefusedInOneLine()
    {
        // Usage errors (bad option values, a missing prompt) exit 2, as the README says.
        Assert.Equal(2, CliRunner.Run("run", "-m", SharedData.Stories, "-p", "x", "--top-p", "2").ExitCode);
        Assert.Equal(2, CliRunner.Run("run", "-m", SharedData.Stories, "-p", "x", "--cache-type-k", "q9").ExitCode);
        Assert.Equal(2, CliRunner.Run("run", "-m", SharedData.Stories).ExitCode);
        Assert.Equal(2, CliRunner.Run("run", "-m", SharedData.Stories, "-p", "x", "--no-such-flag").ExitCode);
    }
}
