using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>Register transposes used to pack weight panels (rows into vector lanes).</summary>
internal static unsafe class PanelTranspose
{
    /// <summary>Transposes eight vectors of eight int32 (row i, dword k) into (dword k, row i).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose8x8(ref Vector256<int> r0, ref Vector256<int> r1, ref Vector256<int> r2, ref Vector256<int> r3,
        ref Vector256<int> r4, ref Vector256<int> r5, ref Vector256<int> r6, ref Vector256<int> r7)
    {
        InLanes8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        var (u0, u1, u2, u3) = (r0, r1, r2, r3);
        r0 = LowLanes(u0, r4);
        r1 = LowLanes(u1, r5);
        r2 = LowLanes(u2, r6);
        r3 = LowLanes(u3, r7);
        r4 = HighLanes(u0, r4);
        r5 = HighLanes(u1, r5);
        r6 = HighLanes(u2, r6);
        r7 = HighLanes(u3, r7);
    }

    /// <summary>
    /// The in-lane part of <see cref="Transpose8x8"/> (dword, then qword interleaves): afterwards vector j (j = 0 … 3)
    /// holds dword j of rows 0–3 in its low lane and dword j + 4 in its high lane, vector 4 + j the same of rows 4–7, so
    /// that <see cref="LowLanes"/> and <see cref="HighLanes"/> of vectors j and 4 + j finish dwords j and j + 4.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void InLanes8x8(ref Vector256<int> r0, ref Vector256<int> r1, ref Vector256<int> r2, ref Vector256<int> r3,
        ref Vector256<int> r4, ref Vector256<int> r5, ref Vector256<int> r6, ref Vector256<int> r7)
    {
        var t0 = Avx2.UnpackLow(r0, r1);
        var t1 = Avx2.UnpackHigh(r0, r1);
        var t2 = Avx2.UnpackLow(r2, r3);
        var t3 = Avx2.UnpackHigh(r2, r3);
        var t4 = Avx2.UnpackLow(r4, r5);
        var t5 = Avx2.UnpackHigh(r4, r5);
        var t6 = Avx2.UnpackLow(r6, r7);
        var t7 = Avx2.UnpackHigh(r6, r7);
        r0 = Avx2.UnpackLow(t0.AsInt64(), t2.AsInt64()).AsInt32();
        r1 = Avx2.UnpackHigh(t0.AsInt64(), t2.AsInt64()).AsInt32();
        r2 = Avx2.UnpackLow(t1.AsInt64(), t3.AsInt64()).AsInt32();
        r3 = Avx2.UnpackHigh(t1.AsInt64(), t3.AsInt64()).AsInt32();
        r4 = Avx2.UnpackLow(t4.AsInt64(), t6.AsInt64()).AsInt32();
        r5 = Avx2.UnpackHigh(t4.AsInt64(), t6.AsInt64()).AsInt32();
        r6 = Avx2.UnpackLow(t5.AsInt64(), t7.AsInt64()).AsInt32();
        r7 = Avx2.UnpackHigh(t5.AsInt64(), t7.AsInt64()).AsInt32();
    }

    /// <summary>The low lanes of <paramref name="a"/> and <paramref name="b"/>, in that order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> LowLanes(Vector256<int> a, Vector256<int> b) => Avx2.Permute2x128(a, b, 0x20);

    /// <summary>The high lanes of <paramref name="a"/> and <paramref name="b"/>, in that order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> HighLanes(Vector256<int> a, Vector256<int> b) => Avx2.Permute2x128(a, b, 0x31);

    /// <summary>Transposes eight vectors of eight int32 and stores them as 64 consecutive ints (rows into lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreTransposed(int* dst, Vector256<int> r0, Vector256<int> r1, Vector256<int> r2, Vector256<int> r3,
        Vector256<int> r4, Vector256<int> r5, Vector256<int> r6, Vector256<int> r7)
    {
        Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
        r0.Store(dst);
        r1.Store(dst + 8);
        r2.Store(dst + 16);
        r3.Store(dst + 24);
        r4.Store(dst + 32);
        r5.Store(dst + 40);
        r6.Store(dst + 48);
        r7.Store(dst + 56);
    }
}
