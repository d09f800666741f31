using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// The steps both prefill panels (<see cref="Block32Panels{T}"/>, <see cref="SuperBlockPanels{T}"/>) take per token
/// quad: the quad's activation rows, four-element <c>vpdpbusd</c> steps against a transposed panel, and the stores of
/// the quad's results. AVX-VNNI only; the panels exist only where it does.
/// </summary>
internal static unsafe class PanelSteps
{
    /// <summary>
    /// The activation rows of the token quad at <paramref name="t"/> of <paramref name="count"/> (<paramref name="n"/>
    /// apart from <paramref name="qs"/>); a short last quad repeats its final token, whose extra results are not stored.
    /// Returns how many of the four are real.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int QuadRows(sbyte* qs, int t, int count, int n, out sbyte* q0, out sbyte* q1, out sbyte* q2, out sbyte* q3)
    {
        int quad = Math.Min(4, count - t);
        q0 = qs + (long)t * n;
        q1 = qs + (long)(t + Math.Min(1, quad - 1)) * n;
        q2 = qs + (long)(t + Math.Min(2, quad - 1)) * n;
        q3 = qs + (long)(t + Math.Min(3, quad - 1)) * n;
        return quad;
    }

    /// <summary>Four activation bytes broadcast to every dword (one element quad for all eight panel rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> Quad(sbyte* a) => Vector256.Create(*(int*)a).AsSByte();

    /// <summary>
    /// Element quad <paramref name="k"/> of the panel values (32 bytes: four elements of eight rows) against the same
    /// quad of four tokens, added to their sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Step4(byte* values, int k, sbyte* a0, sbyte* a1, sbyte* a2, sbyte* a3,
        ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3)
    {
        var u = Vector256.Load(values + 32 * k);
        s0 = AvxVnni.MultiplyWideningAndAdd(s0, u, Quad(a0 + 4 * k));
        s1 = AvxVnni.MultiplyWideningAndAdd(s1, u, Quad(a1 + 4 * k));
        s2 = AvxVnni.MultiplyWideningAndAdd(s2, u, Quad(a2 + 4 * k));
        s3 = AvxVnni.MultiplyWideningAndAdd(s3, u, Quad(a3 + 4 * k));
    }

    /// <summary>Stores the real tokens of a quad: row results of token t + i to <paramref name="output"/> + (t + i)·stride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreQuad(float* output, long outputStride, int t, int quad,
        Vector256<float> f0, Vector256<float> f1, Vector256<float> f2, Vector256<float> f3)
    {
        f0.Store(output + t * outputStride);
        if (quad > 1) f1.Store(output + (t + 1) * outputStride);
        if (quad > 2) f2.Store(output + (t + 2) * outputStride);
        if (quad > 3) f3.Store(output + (t + 3) * outputStride);
    }
}
