using System.Runtime.Intrinsics;

namespace SharpInfer.Kernels;

/// <summary>Element-wise vector operations (residual adds, scaling, weighted accumulation).</summary>
public static unsafe class Elementwise
{
    /// <summary>y[i] += x[i].</summary>
    public static void Add(float* y, float* x, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16) Vector512.Store(Vector512.Load(y + i) + Vector512.Load(x + i), y + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(y + i) + Vector256.Load(x + i), y + i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 4 <= n; i += 4) Vector128.Store(Vector128.Load(y + i) + Vector128.Load(x + i), y + i);
        }
        for (; i < n; i++) y[i] += x[i];
    }

    /// <summary>y[i] += a · x[i].</summary>
    public static void MultiplyAdd(float* y, float* x, float a, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(a);
            for (; i + 16 <= n; i += 16) Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(x + i), va, Vector512.Load(y + i)), y + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.FusedMultiplyAdd(Vector256.Load(x + i), va, Vector256.Load(y + i)), y + i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var va = Vector128.Create(a);
            for (; i + 4 <= n; i += 4) Vector128.Store(Vector128.FusedMultiplyAdd(Vector128.Load(x + i), va, Vector128.Load(y + i)), y + i);
        }
        for (; i < n; i++) y[i] = MathF.FusedMultiplyAdd(x[i], a, y[i]);
    }

    /// <summary>y[i] *= a.</summary>
    public static void Scale(float* y, float a, int n) => ScaleTo(y, y, a, n);

    /// <summary>y = a·x.</summary>
    public static void ScaleTo(float* y, float* x, float a, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(a);
            for (; i + 16 <= n; i += 16) Vector512.Store(Vector512.Load(x + i) * va, y + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; i + 8 <= n; i += 8) Vector256.Store(Vector256.Load(x + i) * va, y + i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var va = Vector128.Create(a);
            for (; i + 4 <= n; i += 4) Vector128.Store(Vector128.Load(x + i) * va, y + i);
        }
        for (; i < n; i++) y[i] = x[i] * a;
    }

    /// <summary>Largest element.</summary>
    public static float Max(float* x, int n)
    {
        float m = float.NegativeInfinity;
        int i = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var vm = Vector256.Create(float.NegativeInfinity);
            for (; i + 8 <= n; i += 8) vm = Vector256.Max(vm, Vector256.Load(x + i));
            for (int k = 0; k < 8; k++) m = MathF.Max(m, vm[k]);
        }
        else if (Vector128.IsHardwareAccelerated && n >= 4)
        {
            var vm = Vector128.Create(float.NegativeInfinity);
            for (; i + 4 <= n; i += 4) vm = Vector128.Max(vm, Vector128.Load(x + i));
            for (int k = 0; k < 4; k++) m = MathF.Max(m, vm[k]);
        }
        for (; i < n; i++) m = MathF.Max(m, x[i]);
        return m;
    }

    /// <summary>Scalar reference twin of <see cref="Add"/>.</summary>
    public static void AddScalar(float* y, float* x, int n)
    {
        for (int i = 0; i < n; i++) y[i] += x[i];
    }

    /// <summary>Scalar reference twin of <see cref="MultiplyAdd"/>.</summary>
    public static void MultiplyAddScalar(float* y, float* x, float a, int n)
    {
        for (int i = 0; i < n; i++) y[i] = MathF.FusedMultiplyAdd(x[i], a, y[i]);
    }

    /// <summary>Scalar reference twin of <see cref="ScaleTo"/> (and of <see cref="Scale"/>, which is ScaleTo in place).</summary>
    public static void ScaleToScalar(float* y, float* x, float a, int n)
    {
        for (int i = 0; i < n; i++) y[i] = x[i] * a;
    }

    /// <summary>Scalar reference twin of <see cref="Max"/>.</summary>
    public static float MaxScalar(float* x, int n)
    {
        float m = float.NegativeInfinity;
        for (int i = 0; i < n; i++) m = MathF.Max(m, x[i]);
        return m;
    }
}
