using System.Runtime.Intrinsics;

namespace SharpInfer.Kernels;

/// <summary>Numerically stable softmax and log-sum-exp.</summary>
public static unsafe class Softmax
{
    /// <summary>In-place softmax of <paramref name="x"/>; returns the normalizer Σ e^(x−max).</summary>
    public static double Apply(float* x, int n)
    {
        float max = Elementwise.Max(x, n);
        double sum = 0;
        int i = 0;
        // FastExp is inlined (the runtime's vector Exp is a call); each vector's sum joins the double total.
        if (Vector512.IsHardwareAccelerated)
        {
            var vmax = Vector512.Create(max);
            for (; i + 16 <= n; i += 16)
            {
                var e = FastExp.Exp(Vector512.Load(x + i) - vmax);
                Vector512.Store(e, x + i);
                sum += Vector512.Sum(e);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var vmax = Vector256.Create(max);
            for (; i + 8 <= n; i += 8)
            {
                var e = FastExp.Exp(Vector256.Load(x + i) - vmax);
                Vector256.Store(e, x + i);
                sum += Vector256.Sum(e);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var vmax = Vector128.Create(max);
            for (; i + 4 <= n; i += 4)
            {
                var e = FastExp.Exp(Vector128.Load(x + i) - vmax);
                Vector128.Store(e, x + i);
                sum += Vector128.Sum(e);
            }
        }
        for (; i < n; i++)
        {
            float e = FastExp.ExpScalar(x[i] - max);
            x[i] = e;
            sum += e;
        }
        Elementwise.Scale(x, (float)(1.0 / sum), n);
        return sum;
    }

    /// <summary>Scalar reference twin of <see cref="Apply"/>.</summary>
    public static void ApplyScalar(float* x, int n)
    {
        float max = float.NegativeInfinity;
        for (int i = 0; i < n; i++) max = MathF.Max(max, x[i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += x[i] = MathF.Exp(x[i] - max);
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < n; i++) x[i] *= inv;
    }

    /// <summary>log Σ e^x[i] (in double).</summary>
    public static double LogSumExp(float* x, int n)
    {
        float max = Elementwise.Max(x, n);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.Exp(x[i] - max);
        return max + Math.Log(sum);
    }
}
