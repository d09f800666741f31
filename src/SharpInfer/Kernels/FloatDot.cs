using System.Runtime.Intrinsics;
using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>Dot products of f16 and bf16 weight rows with f32 activations, widening in registers.</summary>
public static unsafe class FloatDot
{
    /// <summary>Σ f16(w[i])·x[i].</summary>
    public static float F16(ushort* w, float* x, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var a0 = Vector512<float>.Zero;
            var a1 = Vector512<float>.Zero;
            for (; i + 32 <= n; i += 32)
            {
                a0 = Vector512.FusedMultiplyAdd(HalfVector.F16ToSingle(Vector256.Load(w + i)), Vector512.Load(x + i), a0);
                a1 = Vector512.FusedMultiplyAdd(HalfVector.F16ToSingle(Vector256.Load(w + i + 16)), Vector512.Load(x + i + 16), a1);
            }
            for (; i + 16 <= n; i += 16) a0 = Vector512.FusedMultiplyAdd(HalfVector.F16ToSingle(Vector256.Load(w + i)), Vector512.Load(x + i), a0);
            sum = Vector512.Sum(a0 + a1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var a0 = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) a0 = Vector256.FusedMultiplyAdd(HalfVector.F16ToSingle(Vector128.Load(w + i)), Vector256.Load(x + i), a0);
            sum = Vector256.Sum(a0);
        }
        for (; i < n; i++) sum += HalfFloat.ToSingle(w[i]) * x[i];
        return sum;
    }

    /// <summary>Scalar reference twin of the f16 dot.</summary>
    public static float F16Scalar(ushort* w, float* x, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double)HalfFloat.ToSingle(w[i]) * x[i];
        return (float)sum;
    }

    /// <summary>Σ bf16(w[i])·x[i].</summary>
    public static float BF16(ushort* w, float* x, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var a0 = Vector512<float>.Zero;
            var a1 = Vector512<float>.Zero;
            for (; i + 32 <= n; i += 32)
            {
                a0 = Vector512.FusedMultiplyAdd(HalfVector.BF16ToSingle(Vector256.Load(w + i)), Vector512.Load(x + i), a0);
                a1 = Vector512.FusedMultiplyAdd(HalfVector.BF16ToSingle(Vector256.Load(w + i + 16)), Vector512.Load(x + i + 16), a1);
            }
            for (; i + 16 <= n; i += 16) a0 = Vector512.FusedMultiplyAdd(HalfVector.BF16ToSingle(Vector256.Load(w + i)), Vector512.Load(x + i), a0);
            sum = Vector512.Sum(a0 + a1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var a0 = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) a0 = Vector256.FusedMultiplyAdd(HalfVector.BF16ToSingle(Vector128.Load(w + i)), Vector256.Load(x + i), a0);
            sum = Vector256.Sum(a0);
        }
        for (; i < n; i++) sum += BFloat16.ToSingle(w[i]) * x[i];
        return sum;
    }

    /// <summary>Scalar reference twin of the bf16 dot.</summary>
    public static float BF16Scalar(ushort* w, float* x, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double)BFloat16.ToSingle(w[i]) * x[i];
        return (float)sum;
    }

    /// <summary>Widens an f16 row into f32 (SIMD).</summary>
    public static void F16ToSingle(ushort* w, float* y, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16) HalfVector.F16ToSingle(Vector256.Load(w + i)).Store(y + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8) HalfVector.F16ToSingle(Vector128.Load(w + i)).Store(y + i);
        }
        for (; i < n; i++) y[i] = HalfFloat.ToSingle(w[i]);
    }

    /// <summary>Widens a bf16 row into f32 (SIMD).</summary>
    public static void BF16ToSingle(ushort* w, float* y, int n)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8) HalfVector.BF16ToSingle(Vector128.Load(w + i)).Store(y + i);
        }
        for (; i < n; i++) y[i] = BFloat16.ToSingle(w[i]);
    }
}
