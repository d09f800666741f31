using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpInfer.Kernels;

/// <summary>
/// Rotary position embedding parameters: rotated dimensions, frequency base, linear/YaRN scaling and optional
/// per-frequency factors (Llama 3.1's <c>rope_freqs.weight</c>). <see cref="NeoX"/> selects the rotation layout:
/// false rotates adjacent pairs (x₂ᵢ, x₂ᵢ₊₁) as Llama does, true rotates (xᵢ, xᵢ₊d/2) as GPT-NeoX, Qwen and Phi do.
/// </summary>
public sealed record RopeParameters(
    int Dims,
    float Base = 10000f,
    float FreqScale = 1f,
    float ExtFactor = 0f,
    float AttnFactor = 1f,
    float BetaFast = 32f,
    float BetaSlow = 1f,
    int OriginalContext = 0,
    bool NeoX = false,
    float[]? FreqFactors = null)
{
    /// <summary>YaRN's ramp between interpolated and extrapolated frequencies (dimension indices).</summary>
    internal (float Low, float High) CorrectionDims()
    {
        if (ExtFactor == 0 || OriginalContext <= 0) return (0, 0);
        float Dim(float rotations) => Dims * MathF.Log(OriginalContext / (rotations * 2 * MathF.PI)) / (2 * MathF.Log(Base));
        float start = MathF.Floor(Dim(BetaFast));
        float end = MathF.Ceiling(Dim(BetaSlow));
        return (MathF.Max(0, start), MathF.Min(Dims - 1, end));
    }
}

/// <summary>Rotary position embedding.</summary>
public static unsafe class Rope
{
    /// <summary>
    /// Fills <paramref name="cache"/> (Dims floats: cos, sin pairs) for one position. Angles follow ggml: the
    /// per-pair frequency is built by repeated multiplication by base^(−2/dims), YaRN mixes interpolated and
    /// extrapolated angles and scales the magnitude. <paramref name="withMagnitude"/> = false gives a pure
    /// rotation (used to re-rotate cached keys by a position delta without scaling them twice).
    /// </summary>
    public static void BuildCache(RopeParameters p, float position, float* cache, bool withMagnitude = true)
    {
        float thetaScale = MathF.Pow(p.Base, -2.0f / p.Dims);
        var (low, high) = p.CorrectionDims();
        float theta = position;
        for (int i0 = 0; i0 < p.Dims; i0 += 2)
        {
            float ff = p.FreqFactors is { } f ? f[i0 / 2] : 1.0f;
            float extrapolated = theta / ff;
            float interpolated = p.FreqScale * extrapolated;
            float angle = interpolated;
            float mscale = withMagnitude ? p.AttnFactor : 1f;
            if (p.ExtFactor != 0)
            {
                float y = (i0 / 2 - low) / MathF.Max(0.001f, high - low);
                float ramp = (1 - MathF.Min(1, MathF.Max(0, y))) * p.ExtFactor;
                angle = interpolated * (1 - ramp) + extrapolated * ramp;
                if (withMagnitude) mscale *= 1.0f + 0.1f * MathF.Log(1.0f / p.FreqScale);
            }
            cache[i0] = MathF.Cos(angle) * mscale;
            cache[i0 + 1] = MathF.Sin(angle) * mscale;
            theta *= thetaScale;
        }
    }

    /// <summary>
    /// Rotates <paramref name="heads"/> consecutive heads of <paramref name="headDim"/> values in place (the first
    /// <paramref name="dims"/> of each head; the rest pass through).
    /// </summary>
    public static void Apply(float* x, int heads, int headDim, float* cache, int dims, bool neox)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            for (int h = 0; h < heads; h++)
            {
                float* v = x + h * headDim;
                if (neox) RotateHalves(v, cache, dims);
                else RotatePairs(v, cache, dims);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (int h = 0; h < heads; h++)
            {
                float* v = x + h * headDim;
                if (neox) RotateHalves128(v, cache, dims);
                else RotatePairs128(v, cache, dims);
            }
        }
        else
        {
            ApplyScalar(x, heads, headDim, cache, dims, neox);
        }
    }

    /// <summary><see cref="RotatePairs"/> four values (two pairs) at a time.</summary>
    private static void RotatePairs128(float* v, float* cache, int dims)
    {
        int i = 0;
        var sign = Vector128.Create(-1f, 1f, -1f, 1f);
        for (; i + 4 <= dims; i += 4)
        {
            var cs = Vector128.Load(cache + i);
            var xv = Vector128.Load(v + i);
            var cos = Vector128.Shuffle(cs, Vector128.Create(0, 0, 2, 2));
            var sin = Vector128.Shuffle(cs, Vector128.Create(1, 1, 3, 3)) * sign;
            var swapped = Vector128.Shuffle(xv, Vector128.Create(1, 0, 3, 2));
            Vector128.FusedMultiplyAdd(xv, cos, swapped * sin).Store(v + i);
        }
        for (; i < dims; i += 2) RotateOne(v + i, v + i + 1, cache[i], cache[i + 1]);
    }

    /// <summary><see cref="RotateHalves"/> four (xᵢ, xᵢ₊d/2) pairs at a time.</summary>
    private static void RotateHalves128(float* v, float* cache, int dims)
    {
        int half = dims / 2;
        int i = 0;
        var evens = Vector128.Create(0, 2, 0, 2);
        var odds = Vector128.Create(1, 3, 1, 3);
        for (; i + 4 <= half; i += 4)
        {
            var a = Vector128.Load(cache + 2 * i);
            var b = Vector128.Load(cache + 2 * i + 4);
            var cos = Vector128.Create(Vector128.Shuffle(a, evens).GetLower(), Vector128.Shuffle(b, evens).GetLower());
            var sin = Vector128.Create(Vector128.Shuffle(a, odds).GetLower(), Vector128.Shuffle(b, odds).GetLower());
            var x0 = Vector128.Load(v + i);
            var x1 = Vector128.Load(v + i + half);
            Vector128.FusedMultiplyAdd(x0, cos, -(x1 * sin)).Store(v + i);
            Vector128.FusedMultiplyAdd(x0, sin, x1 * cos).Store(v + i + half);
        }
        for (; i < half; i++) RotateOne(v + i, v + i + half, cache[2 * i], cache[2 * i + 1]);
    }

    /// <summary>
    /// Adjacent pairs: with the cache read as (c, s) pairs, y = x·(c, c) + swap(x)·(−s, s) — one load of the cache per
    /// eight values, the duplications and the pair swap are in-lane shuffles.
    /// </summary>
    private static void RotatePairs(float* v, float* cache, int dims)
    {
        int i = 0;
        var sign = Vector256.Create(-1f, 1f, -1f, 1f, -1f, 1f, -1f, 1f);
        for (; i + 8 <= dims; i += 8)
        {
            var cs = Vector256.Load(cache + i);
            var xv = Vector256.Load(v + i);
            var cos = Vector256.Shuffle(cs, Vector256.Create(0, 0, 2, 2, 4, 4, 6, 6));
            var sin = Vector256.Shuffle(cs, Vector256.Create(1, 1, 3, 3, 5, 5, 7, 7)) * sign;
            var swapped = Vector256.Shuffle(xv, Vector256.Create(1, 0, 3, 2, 5, 4, 7, 6));
            Vector256.FusedMultiplyAdd(xv, cos, swapped * sin).Store(v + i);
        }
        for (; i < dims; i += 2) RotateOne(v + i, v + i + 1, cache[i], cache[i + 1]);
    }

    /// <summary>NeoX halves: eight (xᵢ, xᵢ₊d/2) pairs per step; the (c, s) pairs of the cache are split by two shuffles.</summary>
    private static void RotateHalves(float* v, float* cache, int dims)
    {
        int half = dims / 2;
        int i = 0;
        var evens = Vector256.Create(0, 2, 4, 6, 0, 2, 4, 6);
        var odds = Vector256.Create(1, 3, 5, 7, 1, 3, 5, 7);
        for (; i + 8 <= half; i += 8)
        {
            var a = Vector256.Load(cache + 2 * i);
            var b = Vector256.Load(cache + 2 * i + 8);
            // (c0 s0 c1 s1 c2 s2 c3 s3) → c0 c1 c2 c3 in the low half of the shuffled register; two of those joined.
            var cos = Join(Vector256.Shuffle(a, evens), Vector256.Shuffle(b, evens));
            var sin = Join(Vector256.Shuffle(a, odds), Vector256.Shuffle(b, odds));
            var x0 = Vector256.Load(v + i);
            var x1 = Vector256.Load(v + i + half);
            Vector256.FusedMultiplyAdd(x0, cos, -(x1 * sin)).Store(v + i);
            Vector256.FusedMultiplyAdd(x0, sin, x1 * cos).Store(v + i + half);
        }
        for (; i < half; i++) RotateOne(v + i, v + i + half, cache[2 * i], cache[2 * i + 1]);
    }

    /// <summary>The low four lanes of each argument, side by side.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Join(Vector256<float> low, Vector256<float> high) => Vector256.Create(low.GetLower(), high.GetLower());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RotateOne(float* a, float* b, float c, float s)
    {
        float x0 = *a, x1 = *b;
        *a = x0 * c - x1 * s;
        *b = x0 * s + x1 * c;
    }

    /// <summary>Scalar reference twin of <see cref="Apply"/>.</summary>
    public static void ApplyScalar(float* x, int heads, int headDim, float* cache, int dims, bool neox)
    {
        for (int h = 0; h < heads; h++)
        {
            float* v = x + h * headDim;
            if (neox)
            {
                int half = dims / 2;
                for (int i = 0; i < half; i++) RotateOne(v + i, v + i + half, cache[2 * i], cache[2 * i + 1]);
            }
            else
            {
                for (int i = 0; i < dims; i += 2) RotateOne(v + i, v + i + 1, cache[i], cache[i + 1]);
            }
        }
    }
}
