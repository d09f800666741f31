using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

// Scalar references for the 32-element formats. Weight j of a block pairs with activation j; low nibbles hold
// elements 0..15 and high nibbles 16..31.
public static unsafe partial class QuantizedDot
{
    /// <summary>Q4_0: d_w·d_a·(Σ q·a − 8·Σa).</summary>
    public static float Q4_0Scalar(byte* w, Q8Row a, int n)
    {
        var blocks = (BlockQ4_0*)w;
        float sum = 0;
        for (int b = 0; b < n / 32; b++)
        {
            byte* qs = blocks[b].Qs;
            sbyte* aq = a.Qs + b * 32;
            int dot = 0;
            for (int j = 0; j < 16; j++) dot += (qs[j] & 0xF) * aq[j] + (qs[j] >> 4) * aq[j + 16];
            sum += HalfFloat.ToSingle(blocks[b].D) * a.D[b] * (dot - 8 * a.Sums[b]);
        }
        return sum;
    }

    /// <summary>Q4_1: d_w·d_a·Σ q·a + m_w·d_a·Σa.</summary>
    public static float Q4_1Scalar(byte* w, Q8Row a, int n)
    {
        var blocks = (BlockQ4_1*)w;
        float sum = 0;
        for (int b = 0; b < n / 32; b++)
        {
            byte* qs = blocks[b].Qs;
            sbyte* aq = a.Qs + b * 32;
            int dot = 0;
            for (int j = 0; j < 16; j++) dot += (qs[j] & 0xF) * aq[j] + (qs[j] >> 4) * aq[j + 16];
            sum += HalfFloat.ToSingle(blocks[b].D) * a.D[b] * dot + HalfFloat.ToSingle(blocks[b].M) * a.D[b] * a.Sums[b];
        }
        return sum;
    }

    /// <summary>Q5_0: d_w·d_a·(Σ q·a − 16·Σa), q with its fifth bit from qh.</summary>
    public static float Q5_0Scalar(byte* w, Q8Row a, int n)
    {
        var blocks = (BlockQ5_0*)w;
        float sum = 0;
        for (int b = 0; b < n / 32; b++)
        {
            byte* qs = blocks[b].Qs;
            uint qh = *(uint*)blocks[b].Qh;
            sbyte* aq = a.Qs + b * 32;
            int dot = 0;
            for (int j = 0; j < 16; j++)
            {
                int q0 = (qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
                int q1 = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
                dot += q0 * aq[j] + q1 * aq[j + 16];
            }
            sum += HalfFloat.ToSingle(blocks[b].D) * a.D[b] * (dot - 16 * a.Sums[b]);
        }
        return sum;
    }

    /// <summary>Q5_1: d_w·d_a·Σ q·a + m_w·d_a·Σa.</summary>
    public static float Q5_1Scalar(byte* w, Q8Row a, int n)
    {
        var blocks = (BlockQ5_1*)w;
        float sum = 0;
        for (int b = 0; b < n / 32; b++)
        {
            byte* qs = blocks[b].Qs;
            uint qh = *(uint*)blocks[b].Qh;
            sbyte* aq = a.Qs + b * 32;
            int dot = 0;
            for (int j = 0; j < 16; j++)
            {
                int q0 = (qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
                int q1 = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
                dot += q0 * aq[j] + q1 * aq[j + 16];
            }
            sum += HalfFloat.ToSingle(blocks[b].D) * a.D[b] * dot + HalfFloat.ToSingle(blocks[b].M) * a.D[b] * a.Sums[b];
        }
        return sum;
    }

    /// <summary>Q8_0: d_w·d_a·Σ q·a.</summary>
    public static float Q8_0Scalar(byte* w, Q8Row a, int n)
    {
        var blocks = (BlockQ8_0*)w;
        float sum = 0;
        for (int b = 0; b < n / 32; b++)
        {
            sbyte* qs = blocks[b].Qs;
            sbyte* aq = a.Qs + b * 32;
            int dot = 0;
            for (int j = 0; j < 32; j++) dot += qs[j] * aq[j];
            sum += HalfFloat.ToSingle(blocks[b].D) * a.D[b] * dot;
        }
        return sum;
    }

    /// <summary>IQ4_NL: d_w·d_a·Σ table[q]·a.</summary>
    public static float IQ4_NLScalar(byte* w, Q8Row a, int n)
    {
        var blocks = (BlockIQ4_NL*)w;
        ReadOnlySpan<sbyte> table = BlockIQ4_NL.Values;
        float sum = 0;
        for (int b = 0; b < n / 32; b++)
        {
            byte* qs = blocks[b].Qs;
            sbyte* aq = a.Qs + b * 32;
            int dot = 0;
            for (int j = 0; j < 16; j++) dot += table[qs[j] & 0xF] * aq[j] + table[qs[j] >> 4] * aq[j + 16];
            sum += HalfFloat.ToSingle(blocks[b].D) * a.D[b] * dot;
        }
        return sum;
    }
}
