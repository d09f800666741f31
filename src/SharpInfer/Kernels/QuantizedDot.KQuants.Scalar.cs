using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

// Scalar references for the 256-element super-block formats against Q8_K activations (one scale per 256,
// sums per 16 for folding in the minimums). Element order follows the dequantizers exactly.
public static unsafe partial class QuantizedDot
{
    /// <summary>Q2_K: Σ_groups d·sc·Σ q·a − dmin·m·Σa, groups of 16.</summary>
    public static float Q2_KScalar(byte* w, Q8Row a, int n)
    {
        var blocks = (BlockQ2_K*)w;
        float sum = 0;
        for (int b = 0; b < n / 256; b++)
        {
            var blk = blocks + b;
            sbyte* aq = a.Qs + b * 256;
            short* bs = a.BSums + b * 16;
            int sumQ = 0, sumM = 0;
            byte* q = blk->Qs;
            int group = 0;
            for (int n128 = 0; n128 < 256; n128 += 128, q += 32)
            {
                for (int shift = 0; shift < 8; shift += 2)
                {
                    for (int half = 0; half < 2; half++, group++)
                    {
                        int sc = blk->Scales[group];
                        int dot = 0;
                        for (int l = 0; l < 16; l++) dot += ((q[16 * half + l] >> shift) & 3) * aq[group * 16 + l];
                        sumQ += (sc & 0xF) * dot;
                        sumM += (sc >> 4) * bs[group];
                    }
                }
            }
            float d = a.D[b];
            sum += d * HalfFloat.ToSingle(blk->D) * sumQ - d * HalfFloat.ToSingle(blk->DMin) * sumM;
        }
        return sum;
    }

    /// <summary>Q3_K: d·Σ_groups (sc−32)·Σ (q − 4·!hbit)·a, groups of 16.</summary>
    public static float Q3_KScalar(byte* w, Q8Row a, int n)
    {
        var blocks = (BlockQ3_K*)w;
        sbyte* scales = stackalloc sbyte[16];
        float sum = 0;
        for (int b = 0; b < n / 256; b++)
        {
            var blk = blocks + b;
            sbyte* aq = a.Qs + b * 256;
            Dequantize.ScalesQ3K(blk->Scales, scales);
            byte* q = blk->Qs;
            int total = 0, group = 0, m = 1;
            for (int n128 = 0; n128 < 256; n128 += 128, q += 32)
            {
                for (int shift = 0; shift < 8; shift += 2, m <<= 1)
                {
                    for (int half = 0; half < 2; half++, group++)
                    {
                        int dot = 0;
                        for (int l = 0; l < 16; l++)
                        {
                            int idx = 16 * half + l;
                            int v = ((q[idx] >> shift) & 3) - ((blk->HMask[idx] & m) != 0 ? 0 : 4);
                            dot += v * aq[group * 16 + l];
                        }
                        total += scales[group] * dot;
                    }
                }
            }
            sum += a.D[b] * HalfFloat.ToSingle(blk->D) * total;
        }
        return sum;
    }

    /// <summary>Q4_K: Σ_groups d·sc·Σ q·a − dmin·m·Σa, groups of 32.</summary>
    public static float Q4_KScalar(byte* w, Q8Row a, int n)
    {
        var blocks = (BlockQ4_K*)w;
        float sum = 0;
        for (int b = 0; b < n / 256; b++)
        {
            var blk = blocks + b;
            sbyte* aq = a.Qs + b * 256;
            short* bs = a.BSums + b * 16;
            int sumQ = 0, sumM = 0;
            byte* q = blk->Qs;
            for (int j = 0; j < 8; j += 2, q += 32)
            {
                Dequantize.ScaleMinK4(j, blk->Scales, out byte sc0, out byte m0);
                Dequantize.ScaleMinK4(j + 1, blk->Scales, out byte sc1, out byte m1);
                int dot0 = 0, dot1 = 0;
                for (int l = 0; l < 32; l++)
                {
                    dot0 += (q[l] & 0xF) * aq[j * 32 + l];
                    dot1 += (q[l] >> 4) * aq[(j + 1) * 32 + l];
                }
                sumQ += sc0 * dot0 + sc1 * dot1;
                sumM += m0 * (bs[2 * j] + bs[2 * j + 1]) + m1 * (bs[2 * j + 2] + bs[2 * j + 3]);
            }
            float d = a.D[b];
            sum += d * HalfFloat.ToSingle(blk->D) * sumQ - d * HalfFloat.ToSingle(blk->DMin) * sumM;
        }
        return sum;
    }

    /// <summary>Q5_K: as Q4_K with a fifth bit per quant.</summary>
    public static float Q5_KScalar(byte* w, Q8Row a, int n)
    {
        var blocks = (BlockQ5_K*)w;
        float sum = 0;
        for (int b = 0; b < n / 256; b++)
        {
            var blk = blocks + b;
            sbyte* aq = a.Qs + b * 256;
            short* bs = a.BSums + b * 16;
            int sumQ = 0, sumM = 0;
            byte* ql = blk->Qs;
            int u1 = 1, u2 = 2;
            for (int j = 0; j < 8; j += 2, ql += 32, u1 <<= 2, u2 <<= 2)
            {
                Dequantize.ScaleMinK4(j, blk->Scales, out byte sc0, out byte m0);
                Dequantize.ScaleMinK4(j + 1, blk->Scales, out byte sc1, out byte m1);
                int dot0 = 0, dot1 = 0;
                for (int l = 0; l < 32; l++)
                {
                    dot0 += ((ql[l] & 0xF) + ((blk->Qh[l] & u1) != 0 ? 16 : 0)) * aq[j * 32 + l];
                    dot1 += ((ql[l] >> 4) + ((blk->Qh[l] & u2) != 0 ? 16 : 0)) * aq[(j + 1) * 32 + l];
                }
                sumQ += sc0 * dot0 + sc1 * dot1;
                sumM += m0 * (bs[2 * j] + bs[2 * j + 1]) + m1 * (bs[2 * j + 2] + bs[2 * j + 3]);
            }
            float d = a.D[b];
            sum += d * HalfFloat.ToSingle(blk->D) * sumQ - d * HalfFloat.ToSingle(blk->DMin) * sumM;
        }
        return sum;
    }

    /// <summary>Q6_K: d·Σ_groups sc·Σ (q−32)·a, groups of 16.</summary>
    public static float Q6_KScalar(byte* w, Q8Row a, int n)
    {
        var blocks = (BlockQ6_K*)w;
        float sum = 0;
        for (int b = 0; b < n / 256; b++)
        {
            var blk = blocks + b;
            sbyte* aq = a.Qs + b * 256;
            byte* ql = blk->Ql;
            byte* qh = blk->Qh;
            sbyte* sc = blk->Scales;
            int total = 0;
            for (int n128 = 0; n128 < 256; n128 += 128, ql += 64, qh += 32, sc += 8, aq += 128)
            {
                int d0 = 0, d1 = 0, d2 = 0, d3 = 0, d4 = 0, d5 = 0, d6 = 0, d7 = 0;
                for (int l = 0; l < 32; l++)
                {
                    int q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    if (l < 16)
                    {
                        d0 += q1 * aq[l]; d2 += q2 * aq[l + 32]; d4 += q3 * aq[l + 64]; d6 += q4 * aq[l + 96];
                    }
                    else
                    {
                        d1 += q1 * aq[l]; d3 += q2 * aq[l + 32]; d5 += q3 * aq[l + 64]; d7 += q4 * aq[l + 96];
                    }
                }
                total += sc[0] * d0 + sc[1] * d1 + sc[2] * d2 + sc[3] * d3 + sc[4] * d4 + sc[5] * d5 + sc[6] * d6 + sc[7] * d7;
            }
            sum += a.D[b] * HalfFloat.ToSingle(blk->D) * total;
        }
        return sum;
    }
}
