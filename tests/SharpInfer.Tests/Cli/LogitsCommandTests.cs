using SharpInfer.Inference;
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

    /// <summary>
    /// <c>--top 3 --greedy 5</c>: three top entries in order, led by the argmax; five greedy tokens (fewer only when
    /// the last ends generation), the first the prompt's argmax, all of them what the library's greedy generation
    /// with the same f32 cache picks.
    /// </summary>
    [Fact]
    public void SinglePromptWithOptions()
    {
        var r = CliRunner.Run("logits", "-m", SharedData.Synth("Q4_0"), "-p", "Hello there", "--top", "3", "--greedy", "5");
        Assert.True(r.ExitCode == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        var c = doc.RootElement.GetProperty("cases")[0];
        var positions = c.GetProperty("positions");
        foreach (var position in positions.EnumerateArray())
        {
            var top = position.GetProperty("top");
            Assert.Equal(3, top.GetArrayLength());
            Assert.Equal(position.GetProperty("argmax").GetInt32(), top[0][0].GetInt32());
            Assert.True(top[0][1].GetDouble() >= top[1][1].GetDouble() && top[1][1].GetDouble() >= top[2][1].GetDouble());
        }
        var greedy = c.GetProperty("greedy").EnumerateArray().Select(t => t.GetInt32()).ToArray();
        Assert.Equal(positions[positions.GetArrayLength() - 1].GetProperty("argmax").GetInt32(), greedy[0]);

        using var model = SharpInfer.Models.Model.Load(SharedData.Synth("Q4_0"));
        if (greedy.Length < 5) Assert.True(model.Tokenizer.IsEndOfGeneration(greedy[^1]), $"only {greedy.Length} greedy tokens and the last does not end generation");
        using var context = model.CreateContext(new SharpInfer.Inference.ContextOptions { ContextSize = 64, TypeK = SharpInfer.Tensors.GgmlType.F32, TypeV = SharpInfer.Tensors.GgmlType.F32 });
        var expected = new SharpInfer.Inference.Generator(context).Generate("Hello there",
            new SharpInfer.Inference.GenerationOptions { MaxTokens = 5, Sampling = SharpInfer.Sampling.SamplingOptions.Greedy });
        Assert.Equal(expected.GeneratedTokens, greedy);
    }
}
