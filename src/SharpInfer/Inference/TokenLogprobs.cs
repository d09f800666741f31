namespace SharpInfer.Inference;

/// <summary>A token and its log-probability.</summary>
public readonly record struct TokenLogprob(int Token, float Logprob);

/// <summary>
/// The log-probability of a generated token and of the most likely alternatives, under the model's own distribution
/// (softmax of the raw logits: before logit bias, penalties, truncation and temperature, as OpenAI reports them).
/// </summary>
public sealed record TokenLogprobs(int Token, float Logprob, IReadOnlyList<TokenLogprob> Top)
{
    /// <summary>Most alternatives a request may ask for (OpenAI's limit).</summary>
    public const int MaxTop = 20;

    /// <summary>Computes the log-probabilities of <paramref name="token"/> and of the <paramref name="top"/> most likely tokens.</summary>
    public static TokenLogprobs Compute(ReadOnlySpan<float> logits, int token, int top)
    {
        if ((uint)token >= (uint)logits.Length) throw new ArgumentOutOfRangeException(nameof(token));
        top = Math.Clamp(top, 0, Math.Min(MaxTop, logits.Length));
        float max = float.NegativeInfinity;
        foreach (float l in logits) if (l > max) max = l;
        double sum = 0;
        foreach (float l in logits) sum += Math.Exp(l - max);
        double logSum = max + Math.Log(sum);

        // The best `top` ids, kept sorted by logit descending (ties: lower id first).
        Span<int> best = stackalloc int[top];
        int count = 0;
        for (int id = 0; id < logits.Length && top > 0; id++)
        {
            float l = logits[id];
            if (count == top && l <= logits[best[count - 1]]) continue;
            int at = count < top ? count++ : count - 1;
            while (at > 0 && logits[best[at - 1]] < l)
            {
                best[at] = best[at - 1];
                at--;
            }
            best[at] = id;
        }
        var alternatives = new TokenLogprob[count];
        for (int i = 0; i < count; i++) alternatives[i] = new TokenLogprob(best[i], (float)(logits[best[i]] - logSum));
        return new TokenLogprobs(token, (float)(logits[token] - logSum), alternatives);
    }
}
