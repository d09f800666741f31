using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Tensors;
using Xunit.Abstractions;

namespace SharpInfer.Tests.Models;

/// <summary>Our forward pass against llama.cpp's logits and greedy continuations (f32 KV cache, as the references).</summary>
public class LlamaReferenceTests(ITestOutputHelper output)
{
    public static TheoryData<string> SyntheticModels => new()
    {
        "F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_S", "Q4_K_S", "Q5_K_S", "Q6_K", "IQ4_NL",
    };

    internal static InferenceContext F32Context(Model model, int ctx = 256, int threads = 2) => ReferenceChecker.F32Context(model, ctx, threads);

    [Theory]
    [MemberData(nameof(SyntheticModels))]
    public void SyntheticLlamaMatchesLlamaCpp(string type)
    {
        using var model = Model.Load(SharedData.Synth(type));
        using var context = F32Context(model);
        var result = ReferenceChecker.Check(model, context, ReferenceFile.Load($"synth-llama-{type}"), ReferenceChecker.Tolerance(type), type);
        output.WriteLine($"{type}: {result}");
    }

    internal static int ArgMax(ReadOnlySpan<float> logits) => ReferenceChecker.ArgMax(logits);

    [Fact]
    public void Stories260KGreedyContinuationsAreExact()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = F32Context(model);
        var reference = ReferenceFile.Load("stories260K");
        Assert.Equal(5, reference.Cases.Length);
        foreach (var c in reference.Cases)
        {
            var result = new Generator(context).Generate(c.Prompt, new GenerationOptions { MaxTokens = c.Greedy.Length, Sampling = SharpInfer.Sampling.SamplingOptions.Greedy });
            context.Kv.Clear();
            Assert.Equal(c.Tokens, result.PromptTokens);
            Assert.Equal(c.Greedy, result.GeneratedTokens);
            Assert.Equal(c.GreedyText, result.Text);
        }
    }

    [Fact]
    public void Stories260KLogitsAreWithinF32Precision()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = F32Context(model);
        foreach (var c in ReferenceFile.Load("stories260K").Cases)
        {
            context.Kv.Clear();
            var batch = new Batch(c.Tokens.Length);
            for (int i = 0; i < c.Tokens.Length; i++) batch.Add(c.Tokens[i], i, 0, true);
            context.Decode(batch);
            for (int p = 0; p < c.Positions.Length; p++)
            {
                var logits = context.GetOutputLogits(p);
                foreach (var (id, logit) in c.Positions[p].Top) Assert.True(Math.Abs(logits[id] - logit) <= ReferenceChecker.Tolerance("F32") * c.Positions[p].Std);
            }
        }
    }
}
