namespace SharpInfer.Tensors;

// The 32-element formats: low nibbles are weights 0..15 of a block, high nibbles weights 16..31.
public static unsafe partial class Dequantize
{
    private static void Q4_0(BlockQ4_0* x, float* y, long nb)
    {
        for (long i = 0; i < nb; i++, y += 32)
        {
            float d = HalfFloat.ToSingle(x[i].D);
            byte* qs = x[i].Qs;
            for (int j = 0; j < 16; j++)
            {
                y[j] = ((qs[j] & 0x0F) - 8) * d;
                y[j + 16] = ((qs[j] >> 4) - 8) * d;
            }
        }
    }

    private static void Q4_1(BlockQ4_1* x, float* y, long nb)
    {
        for (long i = 0; i < nb; i++, y += 32)
        {
            float d = HalfFloat.ToSingle(x[i].D);
            float m = HalfFloat.ToSingle(x[i].M);
            byte* qs = x[i].Qs;
            for (int j = 0; j < 16; j++)
            {
                y[j] = (qs[j] & 0x0F) * d + m;
                y[j + 16] = (qs[j] >> 4) * d + m;
            }
        }
    }

    private static void Q5_0(BlockQ5_0* x, float* y, long nb)
    {
        for (long i = 0; i < nb; i++, y += 32)
        {
            float d = HalfFloat.ToSingle(x[i].D);
            uint qh = *(uint*)x[i].Qh;
            byte* qs = x[i].Qs;
            for (int j = 0; j < 16; j++)
            {
                int h0 = (int)((qh >> j) << 4) & 0x10;
                int h1 = (int)(qh >> (j + 12)) & 0x10;
                y[j] = (((qs[j] & 0x0F) | h0) - 16) * d;
                y[j + 16] = (((qs[j] >> 4) | h1) - 16) * d;
            }
        }
    }

    private static void Q5_1(BlockQ5_1* x, float* y, long nb)
    {
        for (long i = 0; i < nb; i++, y += 32)
        {
            float d = HalfFloat.ToSingle(x[i].D);
            float m = HalfFloat.ToSingle(x[i].M);
            uint qh = *(uint*)x[i].Qh;
            byte* qs = x[i].Qs;
            for (int j = 0; j < 16; j++)
            {
                int h0 = (int)((qh >> j) << 4) & 0x10;
                int h1 = (int)(qh >> (j + 12)) & 0x10;
                y[j] = ((qs[j] & 0x0F) | h0) * d + m;
                y[j + 16] = ((qs[j] >> 4) | h1) * d + m;
            }
        }
    }

    private static void Q8_0(BlockQ8_0* x, float* y, long nb)
    {
        for (long i = 0; i < nb; i++, y += 32)
        {
            float d = HalfFloat.ToSingle(x[i].D);
            sbyte* qs = x[i].Qs;
            for (int j = 0; j < 32; j++) y[j] = qs[j] * d;
        }
    }

    private static void Q8_1(BlockQ8_1* x, float* y, long nb)
    {
        for (long i = 0; i < nb; i++, y += 32)
        {
            float d = HalfFloat.ToSingle(x[i].D);
            sbyte* qs = x[i].Qs;
            for (int j = 0; j < 32; j++) y[j] = qs[j] * d;
        }
    }

    private static void IQ4_NL(BlockIQ4_NL* x, float* y, long nb)
    {
        ReadOnlySpan<sbyte> values = BlockIQ4_NL.Values;
        for (long i = 0; i < nb; i++, y += 32)
        {
            float d = HalfFloat.ToSingle(x[i].D);
            byte* qs = x[i].Qs;
            for (int j = 0; j < 16; j++)
            {
                y[j] = d * values[qs[j] & 0x0F];
                y[j + 16] = d * values[qs[j] >> 4];
            }
        }
    }
}
