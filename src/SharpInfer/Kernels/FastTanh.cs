using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpInfer.Kernels;

/// <summary>
/// tanh in single precision through <see cref="FastExp"/>: tanh|x| = 1 − 2 / (e^{2|x|} + 1), sign restored. The
/// error is absolute (about 2e-7 near zero, where the relative error grows), which is what softcaps and GELU need:
/// both multiply tanh by a bounded factor. Large |x| saturate to ±1; NaN stays NaN.
/// </summary>
public static class FastTanh
{
    /// <summary>Eight lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        var a = Vector256.Abs(x);
        var t = Vector256<float>.One - Vector256.Create(2f) / (FastExp.Exp(a + a) + Vector256<float>.One);
        return Vector256.ConditionalSelect(Vector256.Create(-0f), x, t);
    }

    /// <summary>Sixteen lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x)
    {
        var a = Vector512.Abs(x);
        var t = Vector512<float>.One - Vector512.Create(2f) / (FastExp.Exp(a + a) + Vector512<float>.One);
        return Vector512.ConditionalSelect(Vector512.Create(-0f), x, t);
    }

    /// <summary>One value, the same arithmetic as the vector forms (bit-identical results).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float TanhScalar(float x)
    {
        float a = MathF.Abs(x);
        float t = 1f - 2f / (FastExp.ExpScalar(a + a) + 1f);
        return MathF.CopySign(t, x);
    }
}
