using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Models;

/// <summary>
/// Compares a model's logits with a llama.cpp reference file: every prompt position's top logits within
/// <c>k × std</c>, the argmax where the reference's top two are more than twice the bound apart, then the greedy
/// continuation decoded token by token through the cache, up to the first step whose reference margin is below twice
/// the bound (random-weight models can legitimately part there).
/// </summary>
public static class ReferenceChecker
{
    /// <summary>What a comparison covered; <paramref name="Excused"/> names positions let off for a near-tie in expert routing.</summary>
    public sealed record Result(double WorstRatio, int Positions, int GreedySteps, int GreedyAvailable, IReadOnlyList<string> Excused)
    {
        public override string ToString() =>
            $"worst |Δ| = {WorstRatio:E3} × std over {Positions} positions; greedy compared {GreedySteps} of {GreedyAvailable} steps" +
            (Excused.Count > 0 ? $"; excused for router near-ties: {string.Join(", ", Excused)}" : "");
    }

    /// <summary>The project's tolerance for a weight type (× the reference logit std).</summary>
    public static double Tolerance(string type) => type switch
    {
        "F32" => 2e-3,
        "F16" or "BF16" => 0.02,
        _ => 0.08,
    };

    /// <summary>An f32-cache context, as the references were made.</summary>
    public static InferenceContext F32Context(Model model, int ctx = 256, int threads = 2, int microBatch = 512, MlaMode mla = MlaMode.Absorb) =>
        model.CreateContext(new ContextOptions { ContextSize = ctx, TypeK = GgmlType.F32, TypeV = GgmlType.F32, Threads = threads, MicroBatchSize = microBatch, Mla = mla });

    /// <summary>
    /// Runs every case of <paramref name="reference"/> through <paramref name="context"/>; asserts on the first mismatch.
    /// With <paramref name="routerTie"/> &gt; 0 (mixture-of-experts models), a position whose routing margin
    /// (<see cref="ExpertUsage.LastMargins"/>) is below it may differ — two experts' scores nearly tie there, and a
    /// reference computed with other rounding may legitimately have chosen the other — and is named in the result; the
    /// greedy comparison stops at such a step.
    /// </summary>
    public static Result Check(Model model, InferenceContext context, ReferenceFile reference, double k, string label, double routerTie = 0)
    {
        double worst = 0;
        int positions = 0, steps = 0, available = 0;
        var excused = new List<string>();
        foreach (var c in reference.Cases)
        {
            Assert.Equal(c.Tokens, model.Tokenizer.Tokenize(c.Prompt));
            context.Kv.Clear();
            var batch = new Batch(c.Tokens.Length);
            for (int i = 0; i < c.Tokens.Length; i++) batch.Add(c.Tokens[i], i, 0, true);
            context.Decode(batch);
            var margins = context.Experts?.LastMargins.ToArray() ?? [];
            for (int p = 0; p < c.Positions.Length; p++)
            {
                var expected = c.Positions[p];
                var logits = context.GetOutputLogits(p);
                double bound = k * expected.Std;
                bool tie = routerTie > 0 && margins[p] < routerTie;
                double positionWorst = 0;
                foreach (var (id, logit) in expected.Top)
                {
                    double diff = Math.Abs(logits[id] - logit);
                    positionWorst = Math.Max(positionWorst, diff / expected.Std);
                    Assert.True(diff <= bound || tie, $"{label} case '{c.Prompt}' position {p} token {id}: {logits[id]} vs {logit} (bound {bound})");
                }
                if (positionWorst > k)
                {
                    excused.Add($"'{c.Prompt}'@{p} (router margin {margins[p]:G3}, |Δ| {positionWorst:F3} × std)");
                    continue;
                }
                worst = Math.Max(worst, positionWorst);
                double margin = expected.Top[0].Logit - expected.Top[1].Logit;
                if (margin > 2 * bound) Assert.Equal(expected.Argmax, ArgMax(logits));
                positions++;
            }
            steps += CheckGreedy(context, c, k, label, routerTie);
            available += c.Greedy.Length;
        }
        return new Result(worst, positions, steps, available, excused);
    }

    private static int CheckGreedy(InferenceContext context, ReferenceFile.Case c, double k, string label, double routerTie)
    {
        var logits = context.GetOutputLogits(c.Tokens.Length - 1).ToArray();
        double std = c.Positions[^1].Std;
        var batch = new Batch(1);
        int past = c.Tokens.Length;
        bool tie = routerTie > 0 && context.Experts!.LastMargins[^1] < routerTie;
        for (int g = 0; g < c.Greedy.Length; g++)
        {
            if (c.GreedyMargin[g] < 2 * k * std || tie) return g;
            int ours = ArgMax(logits);
            Assert.True(ours == c.Greedy[g], $"{label} '{c.Prompt}': greedy step {g}: {ours} vs {c.Greedy[g]}");
            batch.Clear();
            batch.Add(ours, past++, 0, true);
            context.Decode(batch);
            logits = context.GetOutputLogits(0).ToArray();
            tie = routerTie > 0 && context.Experts!.LastMargins[0] < routerTie;
        }
        return c.Greedy.Length;
    }

    /// <summary>Index of the largest logit.</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
