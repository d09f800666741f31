using SharpInfer.KvCache;
using SharpInfer.Models;
using SharpInfer.Tensors;

namespace SharpInfer.Inference;

/// <summary>How a KV cache storage type affected the model on a text.</summary>
/// <param name="Type">Storage type used for K and V.</param>
/// <param name="BytesPerToken">Cache bytes one token occupies (all layers, K and V).</param>
/// <param name="MeanKl">Mean KL divergence of the next-token distribution from the reference type's.</param>
/// <param name="MaxKl">Largest KL divergence at any position.</param>
/// <param name="Top1Agreement">Fraction of positions whose most likely token is the reference's.</param>
public sealed record KvQualityRow(GgmlType Type, long BytesPerToken, double MeanKl, double MaxKl, double Top1Agreement);

/// <summary>Measures what each KV cache storage type costs in accuracy, against a reference type, on a fixed text.</summary>
public static class KvQuality
{
    /// <summary>A fixed English text for measurements.</summary>
    public const string DefaultText =
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends. " +
        "One day, she saw a big red ball under a tree. She wanted to play with it, but it was too high. Her mom said, " +
        "\"Let's go home and find a stick.\" Lily was happy. They walked home together and had a big lunch. Then they went " +
        "back to the park, and Lily got the ball with the stick. She played all day and was very tired when the sun went down.";

    /// <summary>Evaluates <paramref name="tokens"/> once per type and compares every position's distribution with the reference type's.</summary>
    public static IReadOnlyList<KvQualityRow> Measure(Model model, int[] tokens, GgmlType reference, IEnumerable<GgmlType> types, int threads = 0,
        MlaMode mla = MlaMode.Absorb)
    {
        var baseline = Distributions(model, tokens, reference, threads, mla);
        var rows = new List<KvQualityRow>();
        foreach (var type in types)
        {
            var p = Distributions(model, tokens, type, threads, mla);
            double sumKl = 0, maxKl = 0;
            int agree = 0;
            for (int i = 0; i < tokens.Length; i++)
            {
                double kl = 0;
                for (int v = 0; v < p[i].Length; v++)
                {
                    if (baseline[i][v] > 0) kl += baseline[i][v] * (Math.Log(baseline[i][v]) - Math.Log(Math.Max(p[i][v], 1e-300)));
                }
                kl = Math.Max(0, kl);
                sumKl += kl;
                maxKl = Math.Max(maxKl, kl);
                if (ArgMax(p[i]) == ArgMax(baseline[i])) agree++;
            }
            long bytes = model.Spec.KvLayoutFor(mla).Sum(l => GgmlTypeInfo.RowBytes(type, l.Shape.KWidth) + (l.Shape.VWidth > 0 ? GgmlTypeInfo.RowBytes(type, l.Shape.VWidth) : 0));
            rows.Add(new KvQualityRow(type, bytes, sumKl / tokens.Length, maxKl, agree / (double)tokens.Length));
        }
        return rows;
    }

    private static double[][] Distributions(Model model, int[] tokens, GgmlType type, int threads, MlaMode mla)
    {
        using var context = model.CreateContext(new ContextOptions { ContextSize = tokens.Length, TypeK = type, TypeV = type, Threads = threads, MicroBatchSize = 64, Mla = mla });
        var batch = new Batch(tokens.Length);
        for (int i = 0; i < tokens.Length; i++) batch.Add(tokens[i], i, 0, true);
        context.Decode(batch);
        var result = new double[tokens.Length][];
        for (int i = 0; i < tokens.Length; i++)
        {
            var logits = context.GetOutputLogits(i);
            float max = float.NegativeInfinity;
            foreach (float l in logits) max = MathF.Max(max, l);
            var p = new double[logits.Length];
            double sum = 0;
            for (int v = 0; v < logits.Length; v++) sum += p[v] = Math.Exp(logits[v] - max);
            for (int v = 0; v < p.Length; v++) p[v] /= sum;
            result[i] = p;
        }
        return result;
    }

    private static int ArgMax(double[] p)
    {
        int best = 0;
        for (int i = 1; i < p.Length; i++) if (p[i] > p[best]) best = i;
        return best;
    }

    /// <summary>Types a model's head dimensions allow (with latent attention in <paramref name="mla"/> mode).</summary>
    public static IEnumerable<GgmlType> UsableTypes(Model model, MlaMode mla = MlaMode.Absorb) => KvCacheOptions.SupportedTypes.Where(t =>
        model.Spec.KvLayoutFor(mla).All(l => l.Shape.HeadDimK % GgmlTypeInfo.BlockSize(t) == 0 && l.Shape.HeadDimV % GgmlTypeInfo.BlockSize(t) == 0));
}
