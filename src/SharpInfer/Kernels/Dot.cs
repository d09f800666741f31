using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpInfer.Kernels;

/// <summary>Dot product of f32 vectors: widest vectors first, four independent accumulators to hide FMA latency.</summary>
public static unsafe class Dot
{
    /// <summary>Σ a[i]·b[i].</summary>
    public static float F32(float* a, float* b, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var s0 = Vector512<float>.Zero;
            var s1 = Vector512<float>.Zero;
            var s2 = Vector512<float>.Zero;
            var s3 = Vector512<float>.Zero;
            for (; i + 64 <= n; i += 64)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 16), Vector512.Load(b + i + 16), s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 32), Vector512.Load(b + i + 32), s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 48), Vector512.Load(b + i + 48), s3);
            }
            for (; i + 16 <= n; i += 16) s0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), s0);
            sum = Vector512.Sum((s0 + s1) + (s2 + s3));
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var s0 = Vector256<float>.Zero;
            var s1 = Vector256<float>.Zero;
            var s2 = Vector256<float>.Zero;
            var s3 = Vector256<float>.Zero;
            for (; i + 32 <= n; i += 32)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), s1);
                s2 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 16), Vector256.Load(b + i + 16), s2);
                s3 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i + 24), Vector256.Load(b + i + 24), s3);
            }
            for (; i + 8 <= n; i += 8) s0 = Vector256.FusedMultiplyAdd(Vector256.Load(a + i), Vector256.Load(b + i), s0);
            sum = Vector256.Sum((s0 + s1) + (s2 + s3));
        }
        else if (Vector128.IsHardwareAccelerated && n >= 4)
        {
            var s0 = Vector128<float>.Zero;
            var s1 = Vector128<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                s0 = Vector128.FusedMultiplyAdd(Vector128.Load(a + i), Vector128.Load(b + i), s0);
                s1 = Vector128.FusedMultiplyAdd(Vector128.Load(a + i + 4), Vector128.Load(b + i + 4), s1);
            }
            for (; i + 4 <= n; i += 4) s0 = Vector128.FusedMultiplyAdd(Vector128.Load(a + i), Vector128.Load(b + i), s0);
            sum = Vector128.Sum(s0 + s1);
        }
        for (; i < n; i++) sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        return sum;
    }

    /// <summary>Scalar reference twin of the f32 dot product (accumulates in double).</summary>
    public static float F32Scalar(float* a, float* b, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += (double)a[i] * b[i];
        return (float)sum;
    }

    /// <summary>Span convenience overload.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F32(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException("lengths differ");
        fixed (float* pa = a)
        fixed (float* pb = b)
        {
            return F32(pa, pb, a.Length);
        }
    }
}
