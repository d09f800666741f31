using System.Runtime.Intrinsics;

namespace SharpInfer.Kernels;

/// <summary>SwiGLU gate: out = silu(gate) · up, silu(x) = x / (1 + e^−x).</summary>
public static unsafe class SwiGlu
{
    /// <summary>Writes silu(gate[i]) · up[i] into <paramref name="output"/> (may alias gate).</summary>
    public static void Apply(float* gate, float* up, float* output, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                var g = Vector512.Load(gate + i);
                var silu = g / (Vector512<float>.One + FastExp.Exp(-g));
                Vector512.Store(silu * Vector512.Load(up + i), output + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
            {
                var g = Vector256.Load(gate + i);
                var silu = g / (Vector256<float>.One + FastExp.Exp(-g));
                Vector256.Store(silu * Vector256.Load(up + i), output + i);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (; i + 4 <= n; i += 4)
            {
                var g = Vector128.Load(gate + i);
                var silu = g / (Vector128<float>.One + FastExp.Exp(-g));
                Vector128.Store(silu * Vector128.Load(up + i), output + i);
            }
        }
        for (; i < n; i++) output[i] = gate[i] / (1f + FastExp.ExpScalar(-gate[i])) * up[i];
    }

    /// <summary>Scalar reference twin (the runtime's exp, independent of <see cref="FastExp"/>).</summary>
    public static void ApplyScalar(float* gate, float* up, float* output, int n)
    {
        for (int i = 0; i < n; i++) output[i] = gate[i] / (1f + MathF.Exp(-gate[i])) * up[i];
    }
}
