using SharpInfer.Gguf;

namespace SharpInfer.Inference;

/// <summary>How the hidden states of a text's tokens become one embedding (llama.cpp's numbering of <c>{arch}.pooling_type</c>).</summary>
public enum PoolingType
{
    /// <summary>The mean of every token's hidden state (the default when a model declares none).</summary>
    Mean = 1,

    /// <summary>The first token's hidden state (BERT's [CLS]).</summary>
    Cls = 2,

    /// <summary>The last token's hidden state (decoder embedding models).</summary>
    Last = 3,
}

/// <summary>Reads the pooling a model declares, and names it.</summary>
public static class EmbeddingPooling
{
    private const int LlamaCppNone = 0, LlamaCppRank = 4;

    /// <summary>
    /// The pooling <c>{architecture}.pooling_type</c> declares: 1 mean, 2 CLS, 3 last; absent or 0 ("none": per-token
    /// output, which an embedding API cannot return) means mean. A reranking model (4) or an unknown value is refused
    /// with <see cref="NotSupportedException"/>: its outputs are scores, not embeddings.
    /// </summary>
    public static PoolingType FromMetadata(GgufMetadata metadata, string architecture)
    {
        string key = $"{architecture}.pooling_type";
        if (metadata.Find(key) is null) return PoolingType.Mean;
        long value = metadata.GetInt64(key);
        return value switch
        {
            LlamaCppNone => PoolingType.Mean,
            (long)PoolingType.Mean or (long)PoolingType.Cls or (long)PoolingType.Last => (PoolingType)value,
            LlamaCppRank => throw new NotSupportedException($"{key} is 4 (rank): a reranking model gives scores, not embeddings"),
            _ => throw new NotSupportedException($"{key} is {value}, which is not a known pooling type (1 mean, 2 CLS, 3 last)"),
        };
    }

    /// <summary>The lower-case name (<c>mean</c>, <c>cls</c>, <c>last</c>).</summary>
    public static string Name(PoolingType pooling) => pooling.ToString().ToLowerInvariant();
}

/// <summary>
/// Computes one text's embedding chunk by chunk in one sequence of a context: each <see cref="Step"/> evaluates the
/// next tokens (at positions 0, 1, …, so each attends to the ones before it as in generation) with
/// <see cref="InferenceContext.DecodeHidden"/> and folds the hidden states the pooling needs into a running sum;
/// <see cref="Result"/> is the pooled vector scaled to unit length. The caller removes the sequence's cells afterwards.
/// </summary>
public sealed class EmbeddingComputation
{
    private readonly int[] _tokens;
    private readonly double[] _sum;
    private int _done;

    /// <summary>Prepares the embedding of <paramref name="tokens"/> (at least one) with <paramref name="pooling"/>.</summary>
    public EmbeddingComputation(ReadOnlySpan<int> tokens, PoolingType pooling, int embeddingLength)
    {
        if (tokens.IsEmpty) throw new ArgumentException("nothing to embed: the input has no tokens");
        _tokens = tokens.ToArray();
        _sum = new double[embeddingLength];
        Pooling = pooling;
    }

    /// <summary>The pooling in use.</summary>
    public PoolingType Pooling { get; }

    /// <summary>Tokens of the input.</summary>
    public int TokenCount => _tokens.Length;

    /// <summary>Tokens still to evaluate.</summary>
    public int Remaining => _tokens.Length - _done;

    /// <summary>Whether every token has been evaluated.</summary>
    public bool IsComplete => _done == _tokens.Length;

    /// <summary>
    /// Evaluates up to <paramref name="maxTokens"/> more tokens in sequence <paramref name="seq"/> through
    /// <paramref name="batch"/> (cleared first). Throws what <see cref="InferenceContext.DecodeHidden"/> throws, the
    /// computation unchanged (a <see cref="KvCache.KvCacheFullException"/> can be retried).
    /// </summary>
    public void Step(InferenceContext context, int seq, int maxTokens, Batch batch)
    {
        int take = Math.Min(Math.Min(Remaining, maxTokens), batch.Capacity);
        if (take <= 0) return;
        batch.Clear();
        int last = _tokens.Length - 1;
        for (int i = 0; i < take; i++)
        {
            int at = _done + i;
            batch.Add(_tokens[at], at, seq, Pooling switch
            {
                PoolingType.Cls => at == 0,
                PoolingType.Last => at == last,
                _ => true,
            });
        }
        context.DecodeHidden(batch);
        for (int row = 0; row < batch.OutputCount; row++)
        {
            var hidden = context.GetOutputHidden(row);
            for (int k = 0; k < _sum.Length; k++) _sum[k] += hidden[k];
        }
        _done += take;
    }

    /// <summary>The pooled embedding, L2-normalised (a zero vector stays zero).</summary>
    public float[] Result()
    {
        if (!IsComplete) throw new InvalidOperationException($"{Remaining} tokens are still to evaluate");
        double count = Pooling == PoolingType.Mean ? _tokens.Length : 1;
        double norm = 0;
        foreach (double v in _sum) norm += v / count * (v / count);
        norm = Math.Sqrt(norm);
        var result = new float[_sum.Length];
        if (norm == 0) return result;
        for (int k = 0; k < result.Length; k++) result[k] = (float)(_sum[k] / count / norm);
        return result;
    }

    /// <summary>
    /// Embeds <paramref name="tokens"/> in sequence <paramref name="seq"/> of <paramref name="context"/> (which must
    /// hold nothing for it), one micro-batch at a time, and removes the sequence's cells again.
    /// </summary>
    public static float[] Run(InferenceContext context, ReadOnlySpan<int> tokens, int seq, PoolingType pooling)
    {
        if (context.Kv.SeqPosMax(seq) >= 0) throw new InvalidOperationException($"sequence {seq} is not empty");
        var computation = new EmbeddingComputation(tokens, pooling, context.EmbeddingLength);
        var batch = new Batch(Math.Min(tokens.Length, context.Options.MicroBatchSize));
        try
        {
            while (!computation.IsComplete) computation.Step(context, seq, batch.Capacity, batch);
        }
        finally
        {
            context.Kv.SeqRemove(seq, -1, -1);
        }
        return computation.Result();
    }
}
