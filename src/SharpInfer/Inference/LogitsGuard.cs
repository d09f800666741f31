using System.Numerics;

namespace SharpInfer.Inference;

/// <summary>
/// The cheap check that stops a broken model at the first bad step instead of letting it "generate" token 0 forever:
/// every logit row a pass produced is scanned once (a multiply-add per element, a few microseconds per row), and a
/// NaN or infinity anywhere raises <see cref="NonFiniteLogitsException"/> naming the token's position.
/// </summary>
internal static unsafe class LogitsGuard
{
    /// <summary>
    /// Checks one row of <paramref name="vocab"/> logits per output; row k belongs to micro-batch token
    /// <paramref name="outputs"/>[k], whose position and sequence are given.
    /// </summary>
    public static void Check(float* logits, int vocab, ReadOnlySpan<int> outputs, ReadOnlySpan<int> positions, ReadOnlySpan<int> sequences, string what = "logits")
    {
        for (int k = 0; k < outputs.Length; k++)
        {
            if (!AllFinite(logits + (long)k * vocab, vocab))
            {
                int token = outputs[k];
                throw new NonFiniteLogitsException(positions[token], sequences[token], what);
            }
        }
    }

    /// <summary>Whether every value is finite: x·0 is 0 for finite x and NaN for ±∞ or NaN, and NaN survives the sum.</summary>
    public static bool AllFinite(float* values, int count)
    {
        int i = 0;
        var acc = Vector<float>.Zero;
        for (; i + Vector<float>.Count <= count; i += Vector<float>.Count)
        {
            acc += *(Vector<float>*)(values + i) * Vector<float>.Zero;
        }
        float tail = 0;
        for (; i < count; i++) tail += values[i] * 0f;
        return Vector.EqualsAll(acc, Vector<float>.Zero) && tail == 0f;
    }
}
