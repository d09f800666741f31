using SharpInfer.Kernels;

namespace SharpInfer.Models.Parts;

/// <summary>
/// Chooses a token's experts from its router logits, as DeepSeek defines it (and llama.cpp computes it): scores by
/// softmax or sigmoid; the selection bias added for choosing only; with groups, the best groups first (a group scores
/// its best expert, or its best two summed when there is a bias, as DeepSeek-V3's reference code does) and experts
/// only from them; the top experts by selection score; their weights the unbiased scores, normalised to sum 1 when the
/// model says so, then scaled. Ties go to the lower index. Allocates nothing.
/// </summary>
internal static unsafe class ExpertRouter
{
    /// <summary>
    /// Routes one token: <paramref name="logits"/> (one per expert) become <paramref name="chosen"/> expert indices
    /// (best first) and their <paramref name="weights"/>; <paramref name="bias"/> may be null. <paramref name="scores"/>
    /// and <paramref name="selection"/> are scratch of one float per expert. Returns the routing margin: the smallest
    /// gap between the selection score of the last chosen expert (or group) and the best one left out (+∞ when
    /// nothing was left out).
    /// </summary>
    public static float Route(MixtureOfExpertsSpec spec, float* logits, float* bias, float* scores, float* selection, int* chosen, float* weights)
    {
        int experts = spec.Experts, k = spec.ExpertsUsed;
        Score(spec.Gating, logits, scores, experts);
        for (int e = 0; e < experts; e++) selection[e] = bias != null ? scores[e] + bias[e] : scores[e];
        float margin = spec.Grouped ? LimitToGroups(spec, selection, bias != null) : float.PositiveInfinity;
        for (int j = 0; j < k; j++)
        {
            int best = -1;
            for (int e = 0; e < experts; e++)
            {
                if (selection[e] == float.NegativeInfinity || Contains(chosen, j, e)) continue;
                if (best < 0 || selection[e] > selection[best]) best = e;
            }
            chosen[j] = best;
        }
        float rival = float.NegativeInfinity;
        for (int e = 0; e < experts; e++)
        {
            if (!Contains(chosen, k, e)) rival = MathF.Max(rival, selection[e]);
        }
        if (rival != float.NegativeInfinity) margin = MathF.Min(margin, selection[chosen[k - 1]] - rival);
        float sum = 0;
        for (int j = 0; j < k; j++)
        {
            weights[j] = scores[chosen[j]];
            sum += weights[j];
        }
        for (int j = 0; j < k; j++)
        {
            if (spec.NormalizeWeights) weights[j] /= sum;
            weights[j] *= spec.WeightScale;
        }
        return margin;
    }

    /// <summary>Softmax over the experts or an independent sigmoid per expert.</summary>
    private static void Score(ExpertGating gating, float* logits, float* scores, int n)
    {
        if (gating == ExpertGating.Sigmoid)
        {
            for (int e = 0; e < n; e++) scores[e] = 1f / (1f + MathF.Exp(-logits[e]));
            return;
        }
        Buffer.MemoryCopy(logits, scores, n * sizeof(float), n * sizeof(float));
        Softmax.Apply(scores, n);
    }

    /// <summary>
    /// Keeps the selection scores of the best <see cref="MixtureOfExpertsSpec.GroupsUsed"/> groups and sets the rest to
    /// −∞; returns the gap between the last group kept and the best one dropped.
    /// </summary>
    private static float LimitToGroups(MixtureOfExpertsSpec spec, float* selection, bool topTwo)
    {
        int groups = spec.Groups, size = spec.Experts / groups, used = spec.GroupsUsed;
        float* groupScore = stackalloc float[groups];
        int* kept = stackalloc int[used];
        for (int g = 0; g < groups; g++)
        {
            float first = float.NegativeInfinity, second = float.NegativeInfinity;
            for (int e = g * size; e < (g + 1) * size; e++)
            {
                float v = selection[e];
                if (v > first)
                {
                    second = first;
                    first = v;
                }
                else if (v > second)
                {
                    second = v;
                }
            }
            groupScore[g] = topTwo && size > 1 ? first + second : first;
        }
        for (int j = 0; j < used; j++)
        {
            int best = -1;
            for (int g = 0; g < groups; g++)
            {
                if (Contains(kept, j, g)) continue;
                if (best < 0 || groupScore[g] > groupScore[best]) best = g;
            }
            kept[j] = best;
        }
        float rival = float.NegativeInfinity;
        for (int g = 0; g < groups; g++)
        {
            if (Contains(kept, used, g)) continue;
            rival = MathF.Max(rival, groupScore[g]);
            for (int e = g * size; e < (g + 1) * size; e++) selection[e] = float.NegativeInfinity;
        }
        return rival == float.NegativeInfinity ? float.PositiveInfinity : groupScore[kept[used - 1]] - rival;
    }

    private static bool Contains(int* values, int count, int value)
    {
        for (int i = 0; i < count; i++) if (values[i] == value) return true;
        return false;
    }
}
