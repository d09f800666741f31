using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SharpInfer.Kernels;

/// <summary>
/// One activation row quantized to 8 bits for integer dot products against quantized weights. Two layouts,
/// structure-of-arrays so SIMD loads stay aligned:
/// <list type="bullet">
/// <item>32-element blocks (for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL): <see cref="Qs"/>, one scale <see cref="D"/>,
/// the quant sum <see cref="Sums"/> and the scaled sum <see cref="SumsScaled"/> = D·Σq per block (weight offsets and
/// minimums fold into one multiply with it).</item>
/// <item>256-element blocks (for the K-quants, ggml's Q8_K): <see cref="Qs"/>, one scale per 256 in <see cref="D"/>,
/// the sum of every 16 quants in <see cref="BSums"/> and, scaled by D, in <see cref="BSumsScaled"/>.</item>
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
    /// <summary>32-element layout: D × Σ quants per block.</summary>
    public float* SumsScaled;
    /// <summary>256-element layout: Σ quants per 16 elements.</summary>
    public short* BSums;
    /// <summary>256-element layout: D × Σ quants per 16 elements.</summary>
    public float* BSumsScaled;
}

/// <summary>Quantizes f32 activation rows to <see cref="Q8Row"/> layouts (SIMD, with scalar reference twins).</summary>
public static unsafe class ActivationQuantizer
{
    /// <summary>32-element blocks: d = max|x|/127, q = round(x/d) (nearest, ties to even), plus Σq and d·Σq.</summary>
    public static void Quantize32(float* x, int n, Q8Row row)
    {
        if (!Vector256.IsHardwareAccelerated)
        {
            Quantize32Scalar(x, n, row);
            return;
        }
        var absMask = Vector256.Create(0x7FFFFFFF).AsSingle();
        for (int b = 0; b < n / 32; b++)
        {
            float* xb = x + b * 32;
            var v0 = Vector256.Load(xb);
            var v1 = Vector256.Load(xb + 8);
            var v2 = Vector256.Load(xb + 16);
            var v3 = Vector256.Load(xb + 24);
            var m = Vector256.Max(Vector256.Max(v0 & absMask, v1 & absMask), Vector256.Max(v2 & absMask, v3 & absMask));
            float amax = HorizontalMax(m);
            float d = amax / 127f;
            var id = Vector256.Create(amax != 0 ? 127f / amax : 0f);
            var q0 = Vector256.ConvertToInt32(Vector256.Round(v0 * id));
            var q1 = Vector256.ConvertToInt32(Vector256.Round(v1 * id));
            var q2 = Vector256.ConvertToInt32(Vector256.Round(v2 * id));
            var q3 = Vector256.ConvertToInt32(Vector256.Round(v3 * id));
            var s16a = Vector256.Narrow(q0, q1);
            var s16b = Vector256.Narrow(q2, q3);
            Vector256.Narrow(s16a, s16b).Store(row.Qs + b * 32);
            int sum = Vector256.Sum((q0 + q1) + (q2 + q3));
            d = (float)(Half)d;
            row.D[b] = d;
            row.Sums[b] = sum;
            row.SumsScaled[b] = d * sum;
        }
    }

    /// <summary>Scalar reference twin of <see cref="Quantize32"/>.</summary>
    public static void Quantize32Scalar(float* x, int n, Q8Row row)
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
            d = (float)(Half)d;
            row.D[b] = d;
            row.Sums[b] = sum;
            row.SumsScaled[b] = d * sum;
        }
    }

    /// <summary>256-element blocks (ggml's Q8_K): d = −max/127 signed so the extreme maps to −127 exactly, plus per-16 sums.</summary>
    public static void Quantize256(float* x, int n, Q8Row row)
    {
        if (!Vector256.IsHardwareAccelerated)
        {
            Quantize256Scalar(x, n, row);
            return;
        }
        var absMask = Vector256.Create(0x7FFFFFFF).AsSingle();
        for (int b = 0; b < n / 256; b++)
        {
            float* xb = x + b * 256;
            sbyte* q = row.Qs + b * 256;
            var m = Vector256<float>.Zero;
            for (int j = 0; j < 256; j += 8) m = Vector256.Max(m, Vector256.Load(xb + j) & absMask);
            float amax = HorizontalMax(m);
            if (amax == 0)
            {
                row.D[b] = 0;
                new Span<sbyte>(q, 256).Clear();
                for (int j = 0; j < 16; j++)
                {
                    row.BSums[b * 16 + j] = 0;
                    row.BSumsScaled[b * 16 + j] = 0;
                }
                continue;
            }
            // The signed extreme decides the scale's sign, exactly as the scalar reference does (first maximum wins).
            float max = 0;
            for (int j = 0; j < 256; j++)
            {
                if (MathF.Abs(xb[j]) == amax) { max = xb[j]; break; }
            }
            float iscale = -127f / max;
            float d = 1 / iscale;
            var vi = Vector256.Create(iscale);
            var cap = Vector256.Create(127);
            for (int g = 0; g < 16; g++)
            {
                var q0 = Vector256.Min(Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(xb + g * 16) * vi)), cap);
                var q1 = Vector256.Min(Vector256.ConvertToInt32(Vector256.Round(Vector256.Load(xb + g * 16 + 8) * vi)), cap);
                var s16 = Vector256.Narrow(q0, q1);
                var s8 = Vector128.Narrow(s16.GetLower(), s16.GetUpper());
                s8.Store(q + g * 16);
                int sum = Vector256.Sum(q0 + q1);
                row.BSums[b * 16 + g] = (short)sum;
                row.BSumsScaled[b * 16 + g] = d * sum;
            }
            row.D[b] = d;
        }
    }

    /// <summary>Scalar reference twin of <see cref="Quantize256"/>.</summary>
    public static void Quantize256Scalar(float* x, int n, Q8Row row)
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
                for (int j = 0; j < 16; j++)
                {
                    row.BSums[b * 16 + j] = 0;
                    row.BSumsScaled[b * 16 + j] = 0;
                }
                continue;
            }
            float iscale = -127f / max;
            float d = 1 / iscale;
            for (int j = 0; j < 256; j++) q[j] = (sbyte)Math.Min(127, (int)MathF.Round(iscale * xb[j], MidpointRounding.ToEven));
            for (int j = 0; j < 16; j++)
            {
                int sum = 0;
                for (int k = 0; k < 16; k++) sum += q[j * 16 + k];
                row.BSums[b * 16 + j] = (short)sum;
                row.BSumsScaled[b * 16 + j] = d * sum;
            }
            row.D[b] = d;
        }
    }

    private static float HorizontalMax(Vector256<float> v)
    {
        var m = Vector128.Max(v.GetLower(), v.GetUpper());
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
    }
}
