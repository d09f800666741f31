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

    /// <summary>Rotates <paramref name="heads"/> consecutive heads of <paramref name="headDim"/> values in place.</summary>
    public static void Apply(float* x, int heads, int headDim, float* cache, int dims, bool neox)
    {
        for (int h = 0; h < heads; h++)
        {
            float* v = x + h * headDim;
            if (neox)
            {
                int half = dims / 2;
                for (int i = 0; i < half; i++)
                {
                    float c = cache[2 * i], s = cache[2 * i + 1];
                    float x0 = v[i], x1 = v[i + half];
                    v[i] = x0 * c - x1 * s;
                    v[i + half] = x0 * s + x1 * c;
                }
            }
            else
            {
                for (int i = 0; i < dims; i += 2)
                {
                    float c = cache[i], s = cache[i + 1];
                    float x0 = v[i], x1 = v[i + 1];
                    v[i] = x0 * c - x1 * s;
                    v[i + 1] = x0 * s + x1 * c;
                }
            }
        }
    }
}
