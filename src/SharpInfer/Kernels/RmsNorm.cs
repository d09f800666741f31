using System.Runtime.Intrinsics;

namespace SharpInfer.Kernels;

/// <summary>RMSNorm: y = x / sqrt(mean(x²) + eps) · weight.</summary>
public static unsafe class RmsNorm
{
    /// <summary>Normalizes one row into <paramref name="y"/> (may alias <paramref name="x"/>).</summary>
    public static void Apply(float* x, float* weight, float* y, int n, float eps)
    {
        float scale = 1.0f / MathF.Sqrt((float)(SumOfSquares(x, n) / n) + eps);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var s = Vector512.Create(scale);
            for (; i + 16 <= n; i += 16) Vector512.Store(Vector512.Load(x + i) * s * Vector512.Load(weight + i), y + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(scale);
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(x + i) * s * Vector256.Load(weight + i), y + i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var s = Vector128.Create(scale);
            for (; i + 4 <= n; i += 4) Vector128.Store(Vector128.Load(x + i) * s * Vector128.Load(weight + i), y + i);
        }
        for (; i < n; i++) y[i] = x[i] * scale * weight[i];
    }

    /// <summary>
    /// Normalizes each of <paramref name="heads"/> consecutive heads of <paramref name="headDim"/> values in place with
    /// the same <paramref name="weight"/> (per-head Q/K norms of Qwen3 and Gemma 3).
    /// </summary>
    public static void ApplyHeads(float* x, float* weight, int heads, int headDim, float eps)
    {
        for (int h = 0; h < heads; h++) Apply(x + (long)h * headDim, weight, x + (long)h * headDim, headDim, eps);
    }

    /// <summary>Scalar reference twin of <see cref="ApplyHeads"/>.</summary>
    public static void ApplyHeadsScalar(float* x, float* weight, int heads, int headDim, float eps)
    {
        for (int h = 0; h < heads; h++) ApplyScalar(x + (long)h * headDim, weight, x + (long)h * headDim, headDim, eps);
    }

    /// <summary>Scalar reference twin.</summary>
    public static void ApplyScalar(float* x, float* weight, float* y, int n, float eps)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double)x[i] * x[i];
        float scale = 1.0f / MathF.Sqrt((float)(sum / n) + eps);
        for (int i = 0; i < n; i++) y[i] = x[i] * scale * weight[i];
    }

    private static double SumOfSquares(float* x, int n)
    {
        // Squares are summed in f32 lanes, partial sums in f64: the result agrees with a full f64 sum to ~1e-7.
        int i = 0;
        double total = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 64 <= n; i += 64)
            {
                var acc = Vector256<float>.Zero;
                for (int k = 0; k < 64; k += 8)
                {
                    var v = Vector256.Load(x + i + k);
                    acc = Vector256.FusedMultiplyAdd(v, v, acc);
                }
                total += Vector256.Sum(acc);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 32 <= n; i += 32)
            {
                var acc = Vector128<float>.Zero;
                for (int k = 0; k < 32; k += 4)
                {
                    var v = Vector128.Load(x + i + k);
                    acc = Vector128.FusedMultiplyAdd(v, v, acc);
                }
                total += Vector128.Sum(acc);
            }
        }
        for (; i < n; i++) total += (double)x[i] * x[i];
        return total;
    }
}
