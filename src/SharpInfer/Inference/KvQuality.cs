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

    /// <summary>Positions evaluated per step: every type's context decodes the same chunk, then it is compared and dropped.</summary>
    private const int Chunk = 64;

    /// <summary>
    /// Evaluates <paramref name="tokens"/> once per type and compares every position's distribution with the reference
    /// type's. All contexts advance together a chunk of positions at a time, so memory holds the caches and one
    /// chunk of distributions, however long the text; <paramref name="progress"/> hears (positions done, total) after
    /// each chunk, and <paramref name="cancellation"/> is observed between chunks.
    /// </summary>
    public static IReadOnlyList<KvQualityRow> Measure(Model model, int[] tokens, GgmlType reference, IEnumerable<GgmlType> types, int threads = 0,
        Action<int, int>? progress = null, CancellationToken cancellation = default, MlaMode mla = MlaMode.Absorb)
    {
        if (tokens.Length == 0) throw new ArgumentException("the text tokenized to nothing");
        var typeList = types.ToList();
        var contexts = new List<InferenceContext>();
        try
        {
            foreach (var type in typeList.Prepend(reference))
            {
                contexts.Add(model.CreateContext(new ContextOptions { ContextSize = tokens.Length, TypeK = type, TypeV = type, Threads = threads, MicroBatchSize = Chunk, Mla = mla }));
            }
            var sums = new Comparison[typeList.Count];
            var baseline = new double[Chunk][];
            var scratch = new double[model.Spec.VocabSize];
            var batch = new Batch(Chunk);
            for (int start = 0; start < tokens.Length; start += Chunk)
            {
                cancellation.ThrowIfCancellationRequested();
                int count = Math.Min(Chunk, tokens.Length - start);
                batch.Clear();
                for (int i = 0; i < count; i++) batch.Add(tokens[start + i], start + i, 0, true);
                contexts[0].Decode(batch);
                for (int i = 0; i < count; i++) Softmax(contexts[0].GetOutputLogits(i), baseline[i] ??= new double[scratch.Length]);
                for (int t = 0; t < typeList.Count; t++)
                {
                    contexts[t + 1].Decode(batch);
                    for (int i = 0; i < count; i++)
                    {
                        Softmax(contexts[t + 1].GetOutputLogits(i), scratch);
                        sums[t].Add(baseline[i], scratch);
                    }
                }
                progress?.Invoke(start + count, tokens.Length);
            }
            return typeList.Select((type, t) => new KvQualityRow(type, BytesPerToken(model, type, mla), sums[t].Kl / tokens.Length, sums[t].MaxKl, sums[t].Agree / (double)tokens.Length)).ToList();
        }
        finally
        {
            foreach (var c in contexts) c.Dispose();
        }
    }

    /// <summary>Running KL divergence and top-1 agreement of one type against the reference.</summary>
    private struct Comparison
    {
        public double Kl, MaxKl;
        public int Agree;

        public void Add(double[] baseline, double[] p)
        {
            double kl = 0;
            for (int v = 0; v < p.Length; v++)
            {
                if (baseline[v] > 0) kl += baseline[v] * (Math.Log(baseline[v]) - Math.Log(Math.Max(p[v], 1e-300)));
            }
            kl = Math.Max(0, kl);
            Kl += kl;
            MaxKl = Math.Max(MaxKl, kl);
            if (ArgMax(p) == ArgMax(baseline)) Agree++;
        }
    }

    private static long BytesPerToken(Model model, GgmlType type, MlaMode mla) =>
        model.Spec.KvLayoutFor(mla).Sum(l => GgmlTypeInfo.RowBytes(type, l.Shape.KWidth) + (l.Shape.VWidth > 0 ? GgmlTypeInfo.RowBytes(type, l.Shape.VWidth) : 0));

    private static void Softmax(ReadOnlySpan<float> logits, double[] p)
    {
        float max = float.NegativeInfinity;
        foreach (float l in logits) max = MathF.Max(max, l);
        double sum = 0;
        for (int v = 0; v < logits.Length; v++) sum += p[v] = Math.Exp(logits[v] - max);
        for (int v = 0; v < logits.Length; v++) p[v] /= sum;
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
