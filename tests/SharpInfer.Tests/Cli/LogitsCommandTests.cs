using System.Text.Json;
using SharpInfer.Tests.Models;

namespace SharpInfer.Tests.Cli;

public class LogitsCommandTests
{
    [Fact]
    public void ReproducesTheReferenceFileShapeAndValues()
    {
        var r = CliRunner.Run("logits", "-m", SharedData.Stories, "--prompts-file", SharedData.File("reference/stories260K.json"));
        Assert.True(r.ExitCode == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.Equal(512, doc.RootElement.GetProperty("n_vocab").GetInt32());
        var ours = ReferenceFile.Parse(doc.RootElement);
        var reference = ReferenceFile.Load("stories260K");
        Assert.Equal(reference.Cases.Length, ours.Cases.Length);
        for (int i = 0; i < ours.Cases.Length; i++)
        {
            var (a, b) = (ours.Cases[i], reference.Cases[i]);
            Assert.Equal(b.Prompt, a.Prompt);
            Assert.Equal(b.Tokens, a.Tokens);
            Assert.Equal(b.Greedy, a.Greedy);
            Assert.Equal(b.GreedyText, a.GreedyText);
            Assert.Equal(b.Positions.Length, a.Positions.Length);
            for (int p = 0; p < a.Positions.Length; p++)
            {
                Assert.Equal(b.Positions[p].Argmax, a.Positions[p].Argmax);
                Assert.True(Math.Abs(b.Positions[p].Std - a.Positions[p].Std) < 1e-4);
                Assert.True(Math.Abs(b.Positions[p].LogSumExp - a.Positions[p].LogSumExp) < 1e-4);
                Assert.Equal(10, a.Positions[p].Top.Length);
            }
            for (int g = 0; g < a.GreedyMargin.Length; g++) Assert.True(Math.Abs(b.GreedyMargin[g] - a.GreedyMargin[g]) < 1e-3);
        }
    }

    [Fact]
    public void SinglePromptWithOptions()
    {
        var r = CliRunner.Run("logits", "-m", SharedData.Synth("Q4_0"), "-p", "Hello there", "--top", "3", "--greedy", "5");
        Assert.True(r.ExitCode == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        var c = doc.RootElement.GetProperty("cases")[0];
        Assert.Equal(3, c.GetProperty("positions")[0].GetProperty("top").GetArrayLength());
        Assert.InRange(c.GetProperty("greedy").GetArrayLength(), 1, 5);
    }
}
