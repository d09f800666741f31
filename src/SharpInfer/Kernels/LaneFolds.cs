using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>Folds of several vectors of integer partial sums into one, shared by the kernels that reduce four rows or tokens at once.</summary>
internal static class LaneFolds
{
    /// <summary>
    /// Four vectors folded so every 128-bit lane k holds, in order, a partial sum of each of <paramref name="t0"/>…<paramref name="t3"/>
    /// over their lane k: two rounds of unpack-and-add, which cost less than reducing each vector on its own.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Quads(Vector512<int> t0, Vector512<int> t1, Vector512<int> t2, Vector512<int> t3)
    {
        var p01 = Avx512F.UnpackLow(t0, t1) + Avx512F.UnpackHigh(t0, t1);
        var p23 = Avx512F.UnpackLow(t2, t3) + Avx512F.UnpackHigh(t2, t3);
        // Dword adds: a 64-bit add would carry between the two sums of a qword.
        return Avx512F.UnpackLow(p01.AsInt64(), p23.AsInt64()).AsInt32() + Avx512F.UnpackHigh(p01.AsInt64(), p23.AsInt64()).AsInt32();
    }

    /// <summary>The 256-bit form of <see cref="Quads(Vector512{int}, Vector512{int}, Vector512{int}, Vector512{int})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Quads(Vector256<int> t0, Vector256<int> t1, Vector256<int> t2, Vector256<int> t3)
    {
        var p01 = Avx2.UnpackLow(t0, t1) + Avx2.UnpackHigh(t0, t1);
        var p23 = Avx2.UnpackLow(t2, t3) + Avx2.UnpackHigh(t2, t3);
        return Avx2.UnpackLow(p01.AsInt64(), p23.AsInt64()).AsInt32() + Avx2.UnpackHigh(p01.AsInt64(), p23.AsInt64()).AsInt32();
    }
}
