namespace SharpInfer.Tensors;

// The 256-element super-block formats: per-group scales are found first, then quantized themselves against
// a super-scale, then every weight is re-quantized against its group's stored (rounded) scale.
public static unsafe partial class Quantize
{
    private static void Q2_K(float* x, BlockQ2_K* y, long nb)
    {
        byte* levels = stackalloc byte[256];
        byte* scratch = stackalloc byte[16];
        float* weights = stackalloc float[16];
        float* mins = stackalloc float[16];
        float* scales = stackalloc float[16];
        const float q4scale = 15f;
        for (long i = 0; i < nb; i++, x += 256)
        {
            float maxScale = 0, maxMin = 0;
            for (int j = 0; j < 16; j++)
            {
                for (int l = 0; l < 16; l++) weights[l] = MathF.Abs(x[16 * j + l]);
                scales[j] = QuantizationMath.AffineScale(16, 3, x + 16 * j, weights, levels + 16 * j, out mins[j], scratch, -0.5f, 0.1f, 15, true);
                if (scales[j] > maxScale) maxScale = scales[j];
                if (mins[j] > maxMin) maxMin = mins[j];
            }
            if (maxScale > 0)
            {
                float iscale = q4scale / maxScale;
                for (int j = 0; j < 16; j++) y[i].Scales[j] = (byte)QuantizationMath.NearestInt(iscale * scales[j]);
                y[i].D = HalfFloat.FromSingle(maxScale / q4scale);
            }
            else
            {
                for (int j = 0; j < 16; j++) y[i].Scales[j] = 0;
                y[i].D = HalfFloat.FromSingle(0f);
            }
            if (maxMin > 0)
            {
                float iscale = q4scale / maxMin;
                for (int j = 0; j < 16; j++) y[i].Scales[j] |= (byte)(QuantizationMath.NearestInt(iscale * mins[j]) << 4);
                y[i].DMin = HalfFloat.FromSingle(maxMin / q4scale);
            }
            else
            {
                y[i].DMin = HalfFloat.FromSingle(0f);
            }
            for (int j = 0; j < 16; j++)
            {
                float d = HalfFloat.ToSingle(y[i].D) * (y[i].Scales[j] & 0xF);
                if (d == 0) continue;
                float dm = HalfFloat.ToSingle(y[i].DMin) * (y[i].Scales[j] >> 4);
                for (int ii = 0; ii < 16; ii++)
                {
                    int l = QuantizationMath.NearestInt((x[16 * j + ii] + dm) / d);
                    levels[16 * j + ii] = (byte)Math.Max(0, Math.Min(3, l));
                }
            }
            for (int j = 0; j < 256; j += 128)
            {
                for (int l = 0; l < 32; l++)
                {
                    y[i].Qs[j / 4 + l] = (byte)(levels[j + l] | (levels[j + l + 32] << 2) | (levels[j + l + 64] << 4) | (levels[j + l + 96] << 6));
                }
            }
        }
    }

    private static void Q3_K(float* x, BlockQ3_K* y, long nb)
    {
        sbyte* levels = stackalloc sbyte[256];
        float* scales = stackalloc float[16];
        sbyte* stored = stackalloc sbyte[16];
        for (long i = 0; i < nb; i++, x += 256)
        {
            float maxScale = 0, amax = 0;
            for (int j = 0; j < 16; j++)
            {
                scales[j] = QuantizationMath.Q3Scale(16, 4, x + 16 * j, levels + 16 * j);
                float scale = MathF.Abs(scales[j]);
                if (scale > amax) { amax = scale; maxScale = scales[j]; }
            }
            for (int j = 0; j < 12; j++) y[i].Scales[j] = 0;
            if (maxScale != 0)
            {
                float iscale = -32f / maxScale;
                for (int j = 0; j < 16; j++)
                {
                    int l = (sbyte)QuantizationMath.NearestInt(iscale * scales[j]);
                    l = Math.Max(-32, Math.Min(31, l)) + 32;
                    if (j < 8) y[i].Scales[j] = (byte)(l & 0xF);
                    else y[i].Scales[j - 8] |= (byte)((l & 0xF) << 4);
                    l >>= 4;
                    y[i].Scales[j % 4 + 8] |= (byte)(l << (2 * (j / 4)));
                }
                y[i].D = HalfFloat.FromSingle(1 / iscale);
            }
            else
            {
                y[i].D = HalfFloat.FromSingle(0f);
            }
            Dequantize.ScalesQ3K(y[i].Scales, stored);
            for (int j = 0; j < 16; j++)
            {
                float d = HalfFloat.ToSingle(y[i].D) * stored[j];
                if (d == 0) continue;
                for (int ii = 0; ii < 16; ii++)
                {
                    int l = QuantizationMath.NearestInt(x[16 * j + ii] / d);
                    levels[16 * j + ii] = (sbyte)(Math.Max(-4, Math.Min(3, l)) + 4);
                }
            }
            for (int j = 0; j < 32; j++) y[i].HMask[j] = 0;
            int m = 0;
            byte hm = 1;
            for (int j = 0; j < 256; j++)
            {
                if (levels[j] > 3)
                {
                    y[i].HMask[m] |= hm;
                    levels[j] -= 4;
                }
                if (++m == 32)
                {
                    m = 0;
                    hm <<= 1;
                }
            }
            for (int j = 0; j < 256; j += 128)
            {
                for (int l = 0; l < 32; l++)
                {
                    y[i].Qs[j / 4 + l] = (byte)((byte)levels[j + l] | ((byte)levels[j + l + 32] << 2) | ((byte)levels[j + l + 64] << 4) | ((byte)levels[j + l + 96] << 6));
                }
            }
        }
    }

    private static void Q4_K(float* x, BlockQ4_K* y, long nb)
    {
        byte* levels = stackalloc byte[256];
        for (long i = 0; i < nb; i++, x += 256)
        {
            AffineGroupsK(x, 15, -1f, 0.1f, 20, levels, y[i].Scales, out y[i].D, out y[i].DMin);
            for (int j = 0; j < 256; j += 64)
            {
                byte* q = y[i].Qs + j / 2;
                for (int l = 0; l < 32; l++) q[l] = (byte)(levels[j + l] | (levels[j + l + 32] << 4));
            }
        }
    }

    private static void Q5_K(float* x, BlockQ5_K* y, long nb)
    {
        byte* levels = stackalloc byte[256];
        for (long i = 0; i < nb; i++, x += 256)
        {
            AffineGroupsK(x, 31, -0.5f, 0.1f, 15, levels, y[i].Scales, out y[i].D, out y[i].DMin);
            byte* qh = y[i].Qh;
            byte* ql = y[i].Qs;
            for (int j = 0; j < 32; j++) qh[j] = 0;
            byte m1 = 1, m2 = 2;
            for (int n = 0; n < 256; n += 64, ql += 32)
            {
                for (int j = 0; j < 32; j++)
                {
                    int l1 = levels[n + j];
                    if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                    int l2 = levels[n + j + 32];
                    if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                    ql[j] = (byte)(l1 | (l2 << 4));
                }
                m1 <<= 2;
                m2 <<= 2;
            }
        }
    }

    /// <summary>
    /// Shared first half of Q4_K and Q5_K: eight groups of 32 get an affine scale and minimum, both packed as
    /// 6-bit values against two f16 super-scales, then every weight is re-quantized against the stored values.
    /// </summary>
    private static void AffineGroupsK(float* x, int nmax, float rmin, float rdelta, int steps, byte* levels, byte* packed, out ushort dBits, out ushort dminBits)
    {
        byte* scratch = stackalloc byte[32];
        float* weights = stackalloc float[32];
        float* mins = stackalloc float[8];
        float* scales = stackalloc float[8];
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++)
        {
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) sumX2 += x[32 * j + l] * x[32 * j + l];
            float avX = MathF.Sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) weights[l] = avX + MathF.Abs(x[32 * j + l]);
            scales[j] = QuantizationMath.AffineScale(32, nmax, x + 32 * j, weights, levels + 32 * j, out mins[j], scratch, rmin, rdelta, steps, false);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        for (int j = 0; j < 8; j++)
        {
            byte ls = Math.Min((byte)63, (byte)QuantizationMath.NearestInt(invScale * scales[j]));
            byte lm = Math.Min((byte)63, (byte)QuantizationMath.NearestInt(invMin * mins[j]));
            if (j < 4)
            {
                packed[j] = ls;
                packed[j + 4] = lm;
            }
            else
            {
                packed[j + 4] = (byte)((ls & 0xF) | ((lm & 0xF) << 4));
                packed[j - 4] |= (byte)((ls >> 4) << 6);
                packed[j] |= (byte)((lm >> 4) << 6);
            }
        }
        dBits = HalfFloat.FromSingle(maxScale / 63f);
        dminBits = HalfFloat.FromSingle(maxMin / 63f);
        float d0 = HalfFloat.ToSingle(dBits), dmin0 = HalfFloat.ToSingle(dminBits);
        for (int j = 0; j < 8; j++)
        {
            Dequantize.ScaleMinK4(j, packed, out byte sc, out byte m);
            float d = d0 * sc;
            if (d == 0) continue;
            float dm = dmin0 * m;
            for (int ii = 0; ii < 32; ii++)
            {
                int l = QuantizationMath.NearestInt((x[32 * j + ii] + dm) / d);
                levels[32 * j + ii] = (byte)Math.Max(0, Math.Min(nmax, l));
            }
        }
    }

    private static void Q6_K(float* x, BlockQ6_K* y, long nb)
    {
        sbyte* levels = stackalloc sbyte[256];
        float* scales = stackalloc float[16];
        for (long i = 0; i < nb; i++, x += 256)
        {
            float maxScale = 0, maxAbsScale = 0;
            for (int g = 0; g < 16; g++)
            {
                float scale = QuantizationMath.SymmetricScale(16, 32, x + 16 * g, levels + 16 * g, 1);
                scales[g] = scale;
                if (MathF.Abs(scale) > maxAbsScale) { maxAbsScale = MathF.Abs(scale); maxScale = scale; }
            }
            if (maxAbsScale < 1e-15f)
            {
                new Span<byte>(&y[i], sizeof(BlockQ6_K)).Clear();
                continue;
            }
            float iscale = -128f / maxScale;
            y[i].D = HalfFloat.FromSingle(1 / iscale);
            for (int g = 0; g < 16; g++) y[i].Scales[g] = (sbyte)Math.Min(127, QuantizationMath.NearestInt(iscale * scales[g]));
            for (int j = 0; j < 16; j++)
            {
                float d = HalfFloat.ToSingle(y[i].D) * y[i].Scales[j];
                if (d == 0) continue;
                for (int ii = 0; ii < 16; ii++)
                {
                    int l = QuantizationMath.NearestInt(x[16 * j + ii] / d);
                    levels[16 * j + ii] = (sbyte)(Math.Max(-32, Math.Min(31, l)) + 32);
                }
            }
            byte* ql = y[i].Ql;
            byte* qh = y[i].Qh;
            for (int j = 0; j < 256; j += 128, ql += 64, qh += 32)
            {
                for (int l = 0; l < 32; l++)
                {
                    int q1 = levels[j + l] & 0xF;
                    int q2 = levels[j + l + 32] & 0xF;
                    int q3 = levels[j + l + 64] & 0xF;
                    int q4 = levels[j + l + 96] & 0xF;
                    ql[l] = (byte)(q1 | (q3 << 4));
                    ql[l + 32] = (byte)(q2 | (q4 << 4));
                    qh[l] = (byte)(((byte)levels[j + l] >> 4) | (((byte)levels[j + l + 32] >> 4) << 2) | (((byte)levels[j + l + 64] >> 4) << 4) | (((byte)levels[j + l + 96] >> 4) << 6));
                }
            }
        }
    }

    private static void Q8_K(float* x, BlockQ8_K* y, long nb)
    {
        for (long i = 0; i < nb; i++, x += 256)
        {
            float max = 0, amax = 0;
            for (int j = 0; j < 256; j++)
            {
                float ax = MathF.Abs(x[j]);
                if (ax > amax) { amax = ax; max = x[j]; }
            }
            if (amax == 0)
            {
                y[i].D = 0;
                for (int j = 0; j < 256; j++) y[i].Qs[j] = 0;
                for (int j = 0; j < 16; j++) y[i].BSums[j] = 0;
                continue;
            }
            float iscale = -127f / max;
            for (int j = 0; j < 256; j++) y[i].Qs[j] = (sbyte)Math.Min(127, QuantizationMath.NearestInt(iscale * x[j]));
            for (int j = 0; j < 16; j++)
            {
                int sum = 0;
                for (int ii = 0; ii < 16; ii++) sum += y[i].Qs[j * 16 + ii];
                y[i].BSums[j] = (short)sum;
            }
            y[i].D = 1 / iscale;
        }
    }
}
