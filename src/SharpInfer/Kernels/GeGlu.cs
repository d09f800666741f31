using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpInfer.Kernels;

/// <summary>
/// GeGLU gate (Gemma): out = gelu(gate) · up with GELU's tanh form,
/// gelu(x) = x/2 · (1 + tanh(√(2/π) · x · (1 + 0.044715 x²))), evaluated the way ggml evaluates it on the CPU (which
/// is what Gemma GGUFs are validated against): the input is rounded to half precision, GELU is taken of that, the
/// result is rounded to half precision again (ggml reads a 64 K-entry f16 table), and inputs at or beyond ±10 give 0
/// or x. The two roundings are 2⁻¹¹ relative, eight times finer than the 8-bit quantization of the activations that
/// follows; leaving them out moves a 26-layer Gemma 2's Q8_0 logits by 0.12 × std against llama.cpp's, keeping them
/// brings Gemma 3 Q8_0 to 1e-6. The rounding is done in the float domain (no table, no gather), lane-wise.
/// </summary>
public static unsafe class GeGlu
{
    private const float SqrtTwoOverPi = 0.797884560802865f;
    private const float Coefficient = 0.044715f;
    private const float Clamp = 10f;

    /// <summary>Writes gelu(gate[i]) · up[i] into <paramref name="output"/> (may alias gate).</summary>
    public static void Apply(float* gate, float* up, float* output, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16) Vector512.Store(Gelu(Vector512.Load(gate + i)) * Vector512.Load(up + i), output + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8) Vector256.Store(Gelu(Vector256.Load(gate + i)) * Vector256.Load(up + i), output + i);
        }
        for (; i < n; i++) output[i] = GeluFast(gate[i]) * up[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Gelu(Vector512<float> x)
    {
        var h = RoundToHalf(x);
        var inner = Vector512.Create(SqrtTwoOverPi) * h * Vector512.FusedMultiplyAdd(Vector512.Create(Coefficient) * h, h, Vector512<float>.One);
        var g = RoundToHalf(Vector512.Create(0.5f) * h * (Vector512<float>.One + FastTanh.Tanh(inner)));
        g = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(x, Vector512.Create(-Clamp)), Vector512<float>.Zero, g);
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512.Create(Clamp)), x, g);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Gelu(Vector256<float> x)
    {
        var h = RoundToHalf(x);
        var inner = Vector256.Create(SqrtTwoOverPi) * h * Vector256.FusedMultiplyAdd(Vector256.Create(Coefficient) * h, h, Vector256<float>.One);
        var g = RoundToHalf(Vector256.Create(0.5f) * h * (Vector256<float>.One + FastTanh.Tanh(inner)));
        g = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(x, Vector256.Create(-Clamp)), Vector256<float>.Zero, g);
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256.Create(Clamp)), x, g);
    }

    /// <summary>
    /// The nearest half-precision value (ties to even), as a float, for |v| below 65504: normal halves keep 10
    /// mantissa bits (round by adding half an ulp plus the parity bit, then clearing the 13 low bits); below 2⁻¹⁴
    /// halves are multiples of 2⁻²⁴, rounded by scaling.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> RoundToHalf(Vector512<float> v)
    {
        var bits = v.AsInt32();
        var sign = bits & Vector512.Create(unchecked((int)0x80000000));
        var abs = bits & Vector512.Create(0x7FFFFFFF);
        var normal = (abs + Vector512.Create(0x0FFF) + ((abs >>> 13) & Vector512<int>.One)) & Vector512.Create(~0x1FFF);
        var tiny = (Vector512.Round(abs.AsSingle() * Vector512.Create(16777216f)) * Vector512.Create(1f / 16777216f)).AsInt32();
        var rounded = Vector512.ConditionalSelect(Vector512.LessThan(abs, Vector512.Create(0x38800000)), tiny, normal);
        return (rounded | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> RoundToHalf(Vector256<float> v)
    {
        var bits = v.AsInt32();
        var sign = bits & Vector256.Create(unchecked((int)0x80000000));
        var abs = bits & Vector256.Create(0x7FFFFFFF);
        var normal = (abs + Vector256.Create(0x0FFF) + ((abs >>> 13) & Vector256<int>.One)) & Vector256.Create(~0x1FFF);
        var tiny = (Vector256.Round(abs.AsSingle() * Vector256.Create(16777216f)) * Vector256.Create(1f / 16777216f)).AsInt32();
        var rounded = Vector256.ConditionalSelect(Vector256.LessThan(abs, Vector256.Create(0x38800000)), tiny, normal);
        return (rounded | sign).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float GeluFast(float x)
    {
        if (x <= -Clamp) return 0f;
        if (x >= Clamp) return x;
        float h = (float)(Half)x;
        float inner = SqrtTwoOverPi * h * MathF.FusedMultiplyAdd(Coefficient * h, h, 1f);
        return (float)(Half)(0.5f * h * (1f + FastTanh.TanhScalar(inner)));
    }

    /// <summary>
    /// Scalar reference twin: the runtime's half conversions and tanh, independent of the vector rounding and of
    /// <see cref="FastTanh"/> (so the two may differ by one half-precision step where tanh's last bits decide it).
    /// </summary>
    public static void ApplyScalar(float* gate, float* up, float* output, int n)
    {
        for (int i = 0; i < n; i++)
        {
            float x = gate[i];
            float g;
            if (x <= -Clamp) g = 0f;
            else if (x >= Clamp) g = x;
            else
            {
                float h = (float)(Half)x;
                g = (float)(Half)(0.5f * h * (1f + MathF.Tanh(SqrtTwoOverPi * h * (1f + Coefficient * h * h))));
            }
            output[i] = g * up[i];
        }
    }
}
