namespace SharpInfer.Tensors;

// The 256-element super-block formats.
public static unsafe partial class Dequantize
{
    /// <summary>Unpacks the j-th 6-bit scale and minimum of a Q4_K/Q5_K block (j in 0..7).</summary>
    internal static void ScaleMinK4(int j, byte* q, out byte scale, out byte min)
    {
        if (j < 4)
        {
            scale = (byte)(q[j] & 63);
            min = (byte)(q[j + 4] & 63);
        }
        else
        {
            scale = (byte)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
            min = (byte)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
        }
    }

    /// <summary>Unpacks the sixteen 6-bit scales of a Q3_K block into signed values (already minus 32).</summary>
    internal static void ScalesQ3K(byte* packed, sbyte* scales)
    {
        for (int j = 0; j < 16; j++)
        {
            int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
            int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
            scales[j] = (sbyte)((low | (high << 4)) - 32);
        }
    }

    private static void Q2_K(BlockQ2_K* x, float* y, long nb)
    {
        for (long i = 0; i < nb; i++)
        {
            float d = HalfFloat.ToSingle(x[i].D);
            float min = HalfFloat.ToSingle(x[i].DMin);
            byte* q = x[i].Qs;
            byte* sc = x[i].Scales;
            int iscale = 0;
            for (int n = 0; n < 256; n += 128, q += 32)
            {
                for (int shift = 0; shift < 8; shift += 2)
                {
                    for (int half = 0; half < 2; half++)
                    {
                        byte s = sc[iscale++];
                        float dl = d * (s & 0xF);
                        float ml = min * (s >> 4);
                        byte* qq = q + 16 * half;
                        for (int l = 0; l < 16; l++) *y++ = dl * ((qq[l] >> shift) & 3) - ml;
                    }
                }
            }
        }
    }

    private static void Q3_K(BlockQ3_K* x, float* y, long nb)
    {
        sbyte* scales = stackalloc sbyte[16];
        for (long i = 0; i < nb; i++)
        {
            float dAll = HalfFloat.ToSingle(x[i].D);
            byte* q = x[i].Qs;
            byte* hm = x[i].HMask;
            ScalesQ3K(x[i].Scales, scales);
            int iscale = 0;
            int m = 1;
            for (int n = 0; n < 256; n += 128, q += 32)
            {
                for (int shift = 0; shift < 8; shift += 2, m <<= 1)
                {
                    for (int half = 0; half < 2; half++)
                    {
                        float dl = dAll * scales[iscale++];
                        int o = 16 * half;
                        for (int l = 0; l < 16; l++)
                        {
                            int v = ((q[o + l] >> shift) & 3) - ((hm[o + l] & m) != 0 ? 0 : 4);
                            *y++ = dl * v;
                        }
                    }
                }
            }
        }
    }

    private static void Q4_K(BlockQ4_K* x, float* y, long nb)
    {
        for (long i = 0; i < nb; i++)
        {
            float d = HalfFloat.ToSingle(x[i].D);
            float min = HalfFloat.ToSingle(x[i].DMin);
            byte* q = x[i].Qs;
            for (int j = 0; j < 8; j += 2, q += 32)
            {
                ScaleMinK4(j, x[i].Scales, out byte sc, out byte m);
                float d1 = d * sc, m1 = min * m;
                ScaleMinK4(j + 1, x[i].Scales, out sc, out m);
                float d2 = d * sc, m2 = min * m;
                for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xF) - m1;
                for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
            }
        }
    }

    private static void Q5_K(BlockQ5_K* x, float* y, long nb)
    {
        for (long i = 0; i < nb; i++)
        {
            float d = HalfFloat.ToSingle(x[i].D);
            float min = HalfFloat.ToSingle(x[i].DMin);
            byte* ql = x[i].Qs;
            byte* qh = x[i].Qh;
            int u1 = 1, u2 = 2;
            for (int j = 0; j < 8; j += 2, ql += 32, u1 <<= 2, u2 <<= 2)
            {
                ScaleMinK4(j, x[i].Scales, out byte sc, out byte m);
                float d1 = d * sc, m1 = min * m;
                ScaleMinK4(j + 1, x[i].Scales, out sc, out m);
                float d2 = d * sc, m2 = min * m;
                for (int l = 0; l < 32; l++) *y++ = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) != 0 ? 16 : 0)) - m1;
                for (int l = 0; l < 32; l++) *y++ = d2 * ((ql[l] >> 4) + ((qh[l] & u2) != 0 ? 16 : 0)) - m2;
            }
        }
    }

    private static void Q6_K(BlockQ6_K* x, float* y, long nb)
    {
        for (long i = 0; i < nb; i++)
        {
            float d = HalfFloat.ToSingle(x[i].D);
            byte* ql = x[i].Ql;
            byte* qh = x[i].Qh;
            sbyte* sc = x[i].Scales;
            for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8)
            {
                for (int l = 0; l < 32; l++)
                {
                    int s = l / 16;
                    int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                    int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                    y[l] = d * sc[s] * q1;
                    y[l + 32] = d * sc[s + 2] * q2;
                    y[l + 64] = d * sc[s + 4] * q3;
                    y[l + 96] = d * sc[s + 6] * q4;
                }
            }
        }
    }

    private static void Q8_K(BlockQ8_K* x, float* y, long nb)
    {
        for (long i = 0; i < nb; i++, y += 256)
        {
            float d = x[i].D;
            sbyte* qs = x[i].Qs;
            for (int j = 0; j < 256; j++) y[j] = d * qs[j];
        }
    }
}
