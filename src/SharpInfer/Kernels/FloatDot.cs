using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>
/// Dot products of f16 and bf16 weight rows with f32 activations, widening in registers, and row widening to f32.
/// One generic body serves both formats (<see cref="IHalfFormat"/>); each has a scalar twin summing in double.
/// </summary>
public static unsafe class FloatDot
{
    /// <summary>Σ f16(w[i])·x[i].</summary>
    public static float F16(ushort* w, float* x, int n) => Dot<F16Format>(w, x, n);

    /// <summary>Scalar reference twin of the f16 dot.</summary>
    public static float F16Scalar(ushort* w, float* x, int n) => DotScalar<F16Format>(w, x, n);

    /// <summary>Σ bf16(w[i])·x[i].</summary>
    public static float BF16(ushort* w, float* x, int n) => Dot<BF16Format>(w, x, n);

    /// <summary>Scalar reference twin of the bf16 dot.</summary>
    public static float BF16Scalar(ushort* w, float* x, int n) => DotScalar<BF16Format>(w, x, n);

    /// <summary>Widens an f16 row into f32 (SIMD).</summary>
    public static void F16ToSingle(ushort* w, float* y, int n) => Widen<F16Format>(w, y, n);

    /// <summary>Widens a bf16 row into f32 (SIMD).</summary>
    public static void BF16ToSingle(ushort* w, float* y, int n) => Widen<BF16Format>(w, y, n);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot<T>(ushort* w, float* x, int n) where T : IHalfFormat
    {
        int i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var a0 = Vector512<float>.Zero;
            var a1 = Vector512<float>.Zero;
            for (; i + 32 <= n; i += 32)
            {
                a0 = Vector512.FusedMultiplyAdd(T.Widen(Vector256.Load(w + i)), Vector512.Load(x + i), a0);
                a1 = Vector512.FusedMultiplyAdd(T.Widen(Vector256.Load(w + i + 16)), Vector512.Load(x + i + 16), a1);
            }
            for (; i + 16 <= n; i += 16) a0 = Vector512.FusedMultiplyAdd(T.Widen(Vector256.Load(w + i)), Vector512.Load(x + i), a0);
            sum = Vector512.Sum(a0 + a1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var a0 = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) a0 = Vector256.FusedMultiplyAdd(T.Widen(Vector128.Load(w + i)), Vector256.Load(x + i), a0);
            sum = Vector256.Sum(a0);
        }
        for (; i < n; i++) sum += T.ToSingle(w[i]) * x[i];
        return sum;
    }

    private static float DotScalar<T>(ushort* w, float* x, int n) where T : IHalfFormat
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double)T.ToSingle(w[i]) * x[i];
        return (float)sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen<T>(ushort* w, float* y, int n) where T : IHalfFormat
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16) T.Widen(Vector256.Load(w + i)).Store(y + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8) T.Widen(Vector128.Load(w + i)).Store(y + i);
        }
        for (; i < n; i++) y[i] = T.ToSingle(w[i]);
    }
}
