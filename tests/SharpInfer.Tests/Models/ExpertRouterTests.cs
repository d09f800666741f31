using SharpInfer.Models;
using SharpInfer.Models.Parts;

namespace SharpInfer.Tests.Models;

/// <summary>
/// Expert routing against a plain reference written from DeepSeek's definition (double precision, sorting instead of
/// selection): softmax and sigmoid scores, with and without a selection bias, ungrouped and group-limited, with and
/// without weight normalisation, scaled.
/// </summary>
public unsafe class ExpertRouterTests
{
    public static TheoryData<ExpertGating, bool, int, bool> Configurations()
    {
        var data = new TheoryData<ExpertGating, bool, int, bool>();
        foreach (var gating in new[] { ExpertGating.Softmax, ExpertGating.Sigmoid })
        {
            foreach (bool bias in new[] { false, true })
            {
                foreach (int groups in new[] { 0, 8 })
                {
                    foreach (bool normalize in new[] { false, true }) data.Add(gating, bias, groups, normalize);
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void RoutingMatchesThePlainReference(ExpertGating gating, bool withBias, int groups, bool normalize)
    {
        var spec = new MixtureOfExpertsSpec
        {
            Experts = 64, ExpertsUsed = 6, ExpertLength = 1, Gating = gating, NormalizeWeights = normalize, WeightScale = 2.5f,
            Groups = groups, GroupsUsed = groups > 0 ? 3 : 0,
        };
        var r = new Random(17 + groups + (withBias ? 1 : 0) + (normalize ? 2 : 0) + (int)gating * 5);
        for (int token = 0; token < 300; token++)
        {
            var logits = Enumerable.Range(0, spec.Experts).Select(_ => (float)(r.NextDouble() * 6 - 3)).ToArray();
            float[]? bias = withBias ? Enumerable.Range(0, spec.Experts).Select(_ => (float)(r.NextDouble() * 0.2 - 0.1)).ToArray() : null;
            var (chosen, weights, margin) = Route(spec, logits, bias);
            var expected = Reference(spec, logits, bias);
            if (expected.Margin < 1e-5) continue; // a float tie: either choice is right
            Assert.Equal(expected.Chosen, chosen);
            for (int j = 0; j < spec.ExpertsUsed; j++) Assert.True(Math.Abs(weights[j] - expected.Weights[j]) <= 1e-6 * Math.Max(1, Math.Abs(expected.Weights[j])), $"weight {j}: {weights[j]} vs {expected.Weights[j]}");
            Assert.True(Math.Abs(margin - expected.Margin) <= 1e-5, $"margin {margin} vs {expected.Margin}");
        }
    }

    [Fact]
    public void TheSelectionBiasChoosesButDoesNotWeigh()
    {
        var spec = new MixtureOfExpertsSpec { Experts = 4, ExpertsUsed = 1, ExpertLength = 1, Gating = ExpertGating.Sigmoid, WeightScale = 3f };
        float[] logits = [1f, 0.9f, 0f, -1f];
        var unbiased = Route(spec, logits, null);
        Assert.Equal([0], unbiased.Chosen);
        var biased = Route(spec, logits, [0f, 0.5f, 0f, 0f]);
        Assert.Equal([1], biased.Chosen);
        Assert.Equal(3f / (1f + MathF.Exp(-0.9f)), biased.Weights[0], 6);
    }

    [Fact]
    public void GroupsScoreTheirBestExpertWithoutABiasAndTheirBestTwoWithOne()
    {
        // Group 0 has one strong expert, group 1 two good ones: the best expert decides without a bias, the best
        // pair with one (DeepSeek-V3's rule), so the chosen group changes.
        var spec = new MixtureOfExpertsSpec { Experts = 4, ExpertsUsed = 1, ExpertLength = 1, Gating = ExpertGating.Sigmoid, Groups = 2, GroupsUsed = 1 };
        float[] logits = [Logit(0.9f), Logit(0.01f), Logit(0.6f), Logit(0.6f)];
        Assert.Equal([0], Route(spec, logits, null).Chosen);
        Assert.Equal([2], Route(spec, logits, [0f, 0f, 0f, 0f]).Chosen);
    }

    private static float Logit(float p) => MathF.Log(p / (1 - p));

    private static (int[] Chosen, float[] Weights, float Margin) Route(MixtureOfExpertsSpec spec, float[] logits, float[]? bias)
    {
        var chosen = new int[spec.ExpertsUsed];
        var weights = new float[spec.ExpertsUsed];
        var scores = new float[spec.Experts];
        var selection = new float[spec.Experts];
        float margin;
        fixed (float* l = logits, b = bias, s = scores, sel = selection, w = weights)
        fixed (int* c = chosen)
        {
            margin = ExpertRouter.Route(spec, l, b, s, sel, c, w);
        }
        return (chosen, weights, margin);
    }

    private static (int[] Chosen, double[] Weights, double Margin) Reference(MixtureOfExpertsSpec spec, float[] logits, float[]? bias)
    {
        int n = spec.Experts;
        double[] scores;
        if (spec.Gating == ExpertGating.Sigmoid)
        {
            scores = logits.Select(x => 1 / (1 + Math.Exp(-x))).ToArray();
        }
        else
        {
            double max = logits.Max();
            var e = logits.Select(x => Math.Exp(x - max)).ToArray();
            scores = e.Select(x => x / e.Sum()).ToArray();
        }
        var selection = scores.Select((s, i) => s + (bias?[i] ?? 0)).ToArray();
        var allowed = Enumerable.Range(0, n).ToList();
        double margin = double.PositiveInfinity;
        if (spec.Groups > 1)
        {
            int size = n / spec.Groups;
            var groupScores = Enumerable.Range(0, spec.Groups).Select(g =>
            {
                var members = selection.Skip(g * size).Take(size).OrderByDescending(x => x).ToArray();
                return bias is null ? members[0] : members[0] + members[1];
            }).ToArray();
            var order = Enumerable.Range(0, spec.Groups).OrderByDescending(g => groupScores[g]).ThenBy(g => g).ToArray();
            var kept = order.Take(spec.GroupsUsed).ToHashSet();
            margin = groupScores[order[spec.GroupsUsed - 1]] - groupScores[order[spec.GroupsUsed]];
            allowed = allowed.Where(i => kept.Contains(i / size)).ToList();
        }
        var ranked = allowed.OrderByDescending(i => selection[i]).ThenBy(i => i).ToArray();
        var chosen = ranked.Take(spec.ExpertsUsed).ToArray();
        if (ranked.Length > spec.ExpertsUsed) margin = Math.Min(margin, selection[ranked[spec.ExpertsUsed - 1]] - selection[ranked[spec.ExpertsUsed]]);
        var weights = chosen.Select(i => scores[i]).ToArray();
        double sum = weights.Sum();
        if (spec.NormalizeWeights) weights = weights.Select(w => w / sum).ToArray();
        return (chosen, weights.Select(w => w * spec.WeightScale).ToArray(), margin);
    }
}
