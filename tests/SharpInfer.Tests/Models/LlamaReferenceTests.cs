using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Tensors;
using Xunit.Abstractions;

namespace SharpInfer.Tests.Models;

/// <summary>Our forward pass against llama.cpp's logits and greedy continuations (f32 KV cache, as the references).</summary>
public class LlamaReferenceTests(ITestOutputHelper output)
{
    public static TheoryData<string, double> SyntheticModels => new()
    {
        { "F32", 0.001 }, { "F16", 0.03 }, { "BF16", 0.03 },
        { "Q8_0", 0.25 }, { "Q4_0", 0.25 }, { "Q4_1", 0.25 }, { "Q5_0", 0.25 }, { "Q5_1", 0.25 },
        { "Q2_K", 0.25 }, { "Q3_K_S", 0.25 }, { "Q4_K_S", 0.25 }, { "Q5_K_S", 0.25 }, { "Q6_K", 0.25 }, { "IQ4_NL", 0.25 },
    };

    internal static InferenceContext F32Context(Model model, int ctx = 256, int threads = 2) =>
        model.CreateContext(new ContextOptions { ContextSize = ctx, TypeK = GgmlType.F32, TypeV = GgmlType.F32, Threads = threads });

    [Theory]
    [MemberData(nameof(SyntheticModels))]
    public void SyntheticLlamaMatchesLlamaCpp(string type, double k)
    {
        using var model = Model.Load(SharedData.Synth(type));
        using var context = F32Context(model);
        var reference = ReferenceFile.Load($"synth-llama-{type}");
        double worst = 0;
        foreach (var c in reference.Cases)
        {
            Assert.Equal(c.Tokens, model.Tokenizer.Tokenize(c.Prompt));
            context.Kv.Clear();
            var batch = new Batch(c.Tokens.Length);
            for (int i = 0; i < c.Tokens.Length; i++) batch.Add(c.Tokens[i], i, 0, true);
            context.Decode(batch);
            for (int p = 0; p < c.Positions.Length; p++)
            {
                var expected = c.Positions[p];
                var logits = context.GetOutputLogits(p);
                double bound = k * expected.Std;
                foreach (var (id, logit) in expected.Top)
                {
                    double diff = Math.Abs(logits[id] - logit);
                    worst = Math.Max(worst, diff / expected.Std);
                    Assert.True(diff <= bound, $"{type} case '{c.Prompt}' position {p} token {id}: {logits[id]} vs {logit} (bound {bound})");
                }
                double margin = expected.Top[0].Logit - expected.Top[1].Logit;
                if (margin > 2 * bound) Assert.Equal(expected.Argmax, ArgMax(logits));
            }
            CheckGreedy(context, c, k, type);
        }
        output.WriteLine($"{type}: worst |Δ| = {worst:E3} × std (bound {k})");
    }

    private static void CheckGreedy(InferenceContext context, ReferenceFile.Case c, double k, string type)
    {
        var logits = context.GetOutputLogits(c.Tokens.Length - 1).ToArray();
        double std = c.Positions[^1].Std;
        var batch = new Batch(1);
        int past = c.Tokens.Length;
        for (int g = 0; g < c.Greedy.Length; g++)
        {
            int ours = ArgMax(logits);
            // Random-weight models can part where the top two logits are closer than the error bound.
            if (c.GreedyMargin[g] < 2 * k * std) return;
            Assert.True(ours == c.Greedy[g], $"{type} '{c.Prompt}': greedy step {g}: {ours} vs {c.Greedy[g]}");
            batch.Clear();
            batch.Add(ours, past++, 0, true);
            context.Decode(batch);
            logits = context.GetOutputLogits(0).ToArray();
        }
    }

    internal static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }

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
                foreach (var (id, logit) in c.Positions[p].Top) Assert.True(Math.Abs(logits[id] - logit) <= 0.001 * c.Positions[p].Std);
            }
        }
    }
}
