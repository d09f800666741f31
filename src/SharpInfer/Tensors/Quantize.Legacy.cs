namespace SharpInfer.Tensors;

// The 32-element formats. Casts truncate toward zero and MathF.Round rounds half away from zero: that is
// the C arithmetic of the reference quantizers, which our output must reproduce byte for byte.
public static unsafe partial class Quantize
{
    private static void Q4_0(float* x, BlockQ4_0* y, long nb)
    {
        for (long i = 0; i < nb; i++, x += 32)
        {
            float amax = 0, max = 0;
            for (int j = 0; j < 32; j++)
            {
                if (amax < MathF.Abs(x[j])) { amax = MathF.Abs(x[j]); max = x[j]; }
            }
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            y[i].D = HalfFloat.FromSingle(d);
            for (int j = 0; j < 16; j++)
            {
                int q0 = Math.Min(15, (int)(sbyte)(int)(x[j] * id + 8.5f));
                int q1 = Math.Min(15, (int)(sbyte)(int)(x[j + 16] * id + 8.5f));
                y[i].Qs[j] = (byte)(q0 | (q1 << 4));
            }
        }
    }

    private static void Q4_1(float* x, BlockQ4_1* y, long nb)
    {
        for (long i = 0; i < nb; i++, x += 32)
        {
            MinMax(x, 32, out float min, out float max);
            float d = (max - min) / 15;
            float id = d != 0 ? 1.0f / d : 0.0f;
            y[i].D = HalfFloat.FromSingle(d);
            y[i].M = HalfFloat.FromSingle(min);
            for (int j = 0; j < 16; j++)
            {
                int q0 = Math.Min(15, (int)(sbyte)(int)((x[j] - min) * id + 0.5f));
                int q1 = Math.Min(15, (int)(sbyte)(int)((x[j + 16] - min) * id + 0.5f));
                y[i].Qs[j] = (byte)(q0 | (q1 << 4));
            }
        }
    }

    private static void Q5_0(float* x, BlockQ5_0* y, long nb)
    {
        for (long i = 0; i < nb; i++, x += 32)
        {
            float amax = 0, max = 0;
            for (int j = 0; j < 32; j++)
            {
                if (amax < MathF.Abs(x[j])) { amax = MathF.Abs(x[j]); max = x[j]; }
            }
            float d = max / -16;
            float id = d != 0 ? 1.0f / d : 0.0f;
            y[i].D = HalfFloat.FromSingle(d);
            uint qh = 0;
            for (int j = 0; j < 16; j++)
            {
                int q0 = Math.Min(31, (int)(sbyte)(int)(x[j] * id + 16.5f));
                int q1 = Math.Min(31, (int)(sbyte)(int)(x[j + 16] * id + 16.5f));
                y[i].Qs[j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
                qh |= (uint)((q0 & 0x10) >> 4) << j;
                qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
            }
            *(uint*)y[i].Qh = qh;
        }
    }

    private static void Q5_1(float* x, BlockQ5_1* y, long nb)
    {
        for (long i = 0; i < nb; i++, x += 32)
        {
            MinMax(x, 32, out float min, out float max);
            float d = (max - min) / 31;
            float id = d != 0 ? 1.0f / d : 0.0f;
            y[i].D = HalfFloat.FromSingle(d);
            y[i].M = HalfFloat.FromSingle(min);
            uint qh = 0;
            for (int j = 0; j < 16; j++)
            {
                int q0 = (byte)(int)((x[j] - min) * id + 0.5f);
                int q1 = (byte)(int)((x[j + 16] - min) * id + 0.5f);
                y[i].Qs[j] = (byte)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
                qh |= (uint)((q0 & 0x10) >> 4) << j;
                qh |= (uint)((q1 & 0x10) >> 4) << (j + 16);
            }
            *(uint*)y[i].Qh = qh;
        }
    }

    private static void Q8_0(float* x, BlockQ8_0* y, long nb)
    {
        for (long i = 0; i < nb; i++, x += 32)
        {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            y[i].D = HalfFloat.FromSingle(d);
            for (int j = 0; j < 32; j++) y[i].Qs[j] = (sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
        }
    }

    private static void Q8_1(float* x, BlockQ8_1* y, long nb)
    {
        for (long i = 0; i < nb; i++, x += 32)
        {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(x[j]));
            float d = amax / 127;
            float id = d != 0 ? 1.0f / d : 0.0f;
            y[i].D = HalfFloat.FromSingle(d);
            int sum = 0;
            for (int j = 0; j < 32; j++)
            {
                sbyte q = (sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
                y[i].Qs[j] = q;
                sum += q;
            }
            y[i].S = HalfFloat.FromSingle(sum * d);
        }
    }

    private static void IQ4_NL(float* x, BlockIQ4_NL* y, long nb)
    {
        byte* levels = stackalloc byte[32];
        float* weights = stackalloc float[32];
        for (long i = 0; i < nb; i++, x += 32)
        {
            for (int j = 0; j < 32; j++) weights[j] = x[j] * x[j];
            float d = QuantizationMath.NonLinearScale(x, 32, weights, BlockIQ4_NL.Values, levels, searchSteps: 7);
            y[i].D = HalfFloat.FromSingle(d);
            // Re-pick every level against the final scale (an all-zero block maps to the level nearest 0).
            float id = d != 0 ? 1 / d : 0;
            for (int j = 0; j < 32; j++) levels[j] = (byte)QuantizationMath.BestIndex(BlockIQ4_NL.Values, id * x[j]);
            for (int j = 0; j < 16; j++) y[i].Qs[j] = (byte)(levels[j] | (levels[j + 16] << 4));
        }
    }

    private static void MinMax(float* x, int n, out float min, out float max)
    {
        min = float.MaxValue;
        max = -float.MaxValue;
        for (int j = 0; j < n; j++)
        {
            if (x[j] < min) min = x[j];
            if (x[j] > max) max = x[j];
        }
    }
}
