using System.Runtime.InteropServices;

namespace SharpInfer.Kernels;

/// <summary>
/// One activation row quantized to 8 bits for integer dot products against quantized weights. Two layouts,
/// structure-of-arrays so SIMD loads stay aligned:
/// <list type="bullet">
/// <item>32-element blocks (for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL): <see cref="Qs"/>, one scale <see cref="D"/>
/// and one quant sum <see cref="Sums"/> per block (the sum folds weight offsets and minimums into one multiply).</item>
/// <item>256-element blocks (for the K-quants, ggml's Q8_K): <see cref="Qs"/>, one scale per 256 in <see cref="D"/>
/// and one sum per 16 in <see cref="BSums"/>.</item>
/// </list>
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct Q8Row
{
    /// <summary>Quantized values, one per element.</summary>
    public sbyte* Qs;
    /// <summary>Scales, one per block.</summary>
    public float* D;
    /// <summary>32-element layout: Σ quants per block.</summary>
    public int* Sums;
    /// <summary>256-element layout: Σ quants per 16 elements.</summary>
    public short* BSums;
}

/// <summary>Quantizes f32 activation rows to <see cref="Q8Row"/> layouts.</summary>
public static unsafe class ActivationQuantizer
{
    /// <summary>32-element blocks: d = max|x|/127, q = round(x/d) (nearest, ties to even), plus Σq.</summary>
    public static void Quantize32(float* x, int n, Q8Row row)
    {
        for (int b = 0; b < n / 32; b++)
        {
            float* xb = x + b * 32;
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = MathF.Max(amax, MathF.Abs(xb[j]));
            float d = amax / 127f;
            float id = amax != 0 ? 127f / amax : 0f;
            int sum = 0;
            sbyte* q = row.Qs + b * 32;
            for (int j = 0; j < 32; j++)
            {
                int v = (int)MathF.Round(xb[j] * id, MidpointRounding.ToEven);
                q[j] = (sbyte)v;
                sum += v;
            }
            row.D[b] = d;
            row.Sums[b] = sum;
        }
    }

    /// <summary>256-element blocks (ggml's Q8_K): d = −max/127 signed so the extreme maps to −127 exactly, plus per-16 sums.</summary>
    public static void Quantize256(float* x, int n, Q8Row row)
    {
        for (int b = 0; b < n / 256; b++)
        {
            float* xb = x + b * 256;
            sbyte* q = row.Qs + b * 256;
            float max = 0, amax = 0;
            for (int j = 0; j < 256; j++)
            {
                float ax = MathF.Abs(xb[j]);
                if (ax > amax) { amax = ax; max = xb[j]; }
            }
            if (amax == 0)
            {
                row.D[b] = 0;
                new Span<sbyte>(q, 256).Clear();
                for (int j = 0; j < 16; j++) row.BSums[b * 16 + j] = 0;
                continue;
            }
            float iscale = -127f / max;
            for (int j = 0; j < 256; j++) q[j] = (sbyte)Math.Min(127, (int)MathF.Round(iscale * xb[j], MidpointRounding.ToEven));
            for (int j = 0; j < 16; j++)
            {
                int sum = 0;
                for (int k = 0; k < 16; k++) sum += q[j * 16 + k];
                row.BSums[b * 16 + j] = (short)sum;
            }
            row.D[b] = 1 / iscale;
        }
    }
}
