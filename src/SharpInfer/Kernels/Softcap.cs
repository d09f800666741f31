using System.Runtime.Intrinsics;

namespace SharpInfer.Kernels;

/// <summary>Logit softcap (Gemma 2): x ← c · tanh(x / c), which bounds every value to (−c, c) and is near identity for small |x|.</summary>
public static unsafe class Softcap
{
    /// <summary>Caps <paramref name="n"/> values in place with cap <paramref name="cap"/> (&gt; 0).</summary>
    public static void Apply(float* x, int n, float cap)
    {
        if (!(cap > 0)) throw new ArgumentOutOfRangeException(nameof(cap), "the softcap must be positive");
        float inverse = 1f / cap;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var c = Vector512.Create(cap);
            var r = Vector512.Create(inverse);
            for (; i + 16 <= n; i += 16) Vector512.Store(c * FastTanh.Tanh(Vector512.Load(x + i) * r), x + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var c = Vector256.Create(cap);
            var r = Vector256.Create(inverse);
            for (; i + 8 <= n; i += 8) Vector256.Store(c * FastTanh.Tanh(Vector256.Load(x + i) * r), x + i);
        }
        for (; i < n; i++) x[i] = cap * FastTanh.TanhScalar(x[i] * inverse);
    }

    /// <summary>Scalar reference twin (the runtime's tanh).</summary>
    public static void ApplyScalar(float* x, int n, float cap)
    {
        for (int i = 0; i < n; i++) x[i] = cap * MathF.Tanh(x[i] / cap);
    }
}
