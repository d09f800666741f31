using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Sixteen weight rows side by side in 512-bit registers, as the sixteen-row tiles read them — sixteen bytes of each
/// row, transposed so that one vector holds the same four bytes (one dword) of all sixteen rows in row order — and the
/// tiles' step: one element quad of the sixteen rows against eight tokens in 16-bit pair sums.
/// </summary>
internal static unsafe class Rows16
{
    /// <summary>
    /// Prefetches the <paramref name="bytes"/> at <paramref name="p"/> in each row of the next tile (the sixteen rows after
    /// this one): a tile reads its rows side by side, sixteen short streams that the hardware prefetchers do not follow,
    /// and streaming from memory without this took 2.2× as long. Consecutive calls must cover consecutive pieces;
    /// <paramref name="intoL2"/> as in <see cref="DecodePrefetch.Lines"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrefetchNextTile(byte* p, long rowBytes, int bytes, bool intoL2 = false) =>
        DecodePrefetch.Rows(p + 16 * rowBytes, rowBytes, 16, bytes, intoL2);

    /// <summary>
    /// The sixteen bytes at <paramref name="p"/> + i·<paramref name="rowBytes"/> for rows i = 0 … 15 as four vectors:
    /// vector j holds dword j of every row, row r in dword r.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load(byte* p, long rowBytes, out Vector512<byte> k0, out Vector512<byte> k1, out Vector512<byte> k2, out Vector512<byte> k3)
    {
        long r4 = 4 * rowBytes;
        Transpose(Lanes(p, r4), Lanes(p + rowBytes, r4), Lanes(p + 2 * rowBytes, r4), Lanes(p + 3 * rowBytes, r4), out k0, out k1, out k2, out k3);
    }

    /// <summary>The sixteen bytes at <paramref name="p"/>, +stride, +2·stride, +3·stride in the four 128-bit lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> Lanes(byte* p, long stride)
    {
        var v = Vector128.Load(p).ToVector256Unsafe().ToVector512Unsafe();
        v = Avx512F.InsertVector128(v, Vector128.Load(p + stride), 1);
        v = Avx512F.InsertVector128(v, Vector128.Load(p + 2 * stride), 2);
        return Avx512F.InsertVector128(v, Vector128.Load(p + 3 * stride), 3).AsUInt32();
    }

    /// <summary>
    /// Rows r, r+4, r+8, r+12 in the lanes of <paramref name="x0"/> (r = 0), <paramref name="x1"/> (1), … : a dword
    /// transpose inside the lanes leaves dword j of all sixteen rows, in order, in vector j.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose(Vector512<uint> x0, Vector512<uint> x1, Vector512<uint> x2, Vector512<uint> x3,
        out Vector512<byte> k0, out Vector512<byte> k1, out Vector512<byte> k2, out Vector512<byte> k3)
    {
        var t0 = Avx512F.UnpackLow(x0, x1);
        var t1 = Avx512F.UnpackHigh(x0, x1);
        var t2 = Avx512F.UnpackLow(x2, x3);
        var t3 = Avx512F.UnpackHigh(x2, x3);
        k0 = Avx512F.UnpackLow(t0.AsUInt64(), t2.AsUInt64()).AsByte();
        k1 = Avx512F.UnpackHigh(t0.AsUInt64(), t2.AsUInt64()).AsByte();
        k2 = Avx512F.UnpackLow(t1.AsUInt64(), t3.AsUInt64()).AsByte();
        k3 = Avx512F.UnpackHigh(t1.AsUInt64(), t3.AsUInt64()).AsByte();
    }

    /// <summary>Four activation bytes at <paramref name="a"/> against element quad u of all sixteen rows: two pair sums per row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> Pair(Vector512<byte> u, sbyte* a) => Avx512BW.MultiplyAddAdjacent(u, Vector512.Create(*(int*)a).AsSByte());

    /// <summary>
    /// The first quad of a group: element quad u against the eight (or, for the smaller forms of
    /// <see cref="ITileBatch"/>, two or four) tokens' bytes at offset <paramref name="e"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void First<TBatch>(Vector512<byte> u, int e, sbyte* a0, sbyte* a1, sbyte* a2, sbyte* a3, sbyte* a4, sbyte* a5, sbyte* a6, sbyte* a7,
        out Vector512<short> s0, out Vector512<short> s1, out Vector512<short> s2, out Vector512<short> s3,
        out Vector512<short> s4, out Vector512<short> s5, out Vector512<short> s6, out Vector512<short> s7)
        where TBatch : struct, ITileBatch
    {
        s0 = Pair(u, a0 + e);
        s1 = Pair(u, a1 + e);
        s2 = s3 = s4 = s5 = s6 = s7 = default;
        if (TBatch.Tokens <= 2) return;
        s2 = Pair(u, a2 + e);
        s3 = Pair(u, a3 + e);
        if (TBatch.Tokens <= 4) return;
        s4 = Pair(u, a4 + e);
        s5 = Pair(u, a5 + e);
        s6 = Pair(u, a6 + e);
        s7 = Pair(u, a7 + e);
    }

    /// <summary>A further quad of a group, added to the eight (or two or four) tokens' pair sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Step<TBatch>(Vector512<byte> u, int e, sbyte* a0, sbyte* a1, sbyte* a2, sbyte* a3, sbyte* a4, sbyte* a5, sbyte* a6, sbyte* a7,
        ref Vector512<short> s0, ref Vector512<short> s1, ref Vector512<short> s2, ref Vector512<short> s3,
        ref Vector512<short> s4, ref Vector512<short> s5, ref Vector512<short> s6, ref Vector512<short> s7)
        where TBatch : struct, ITileBatch
    {
        s0 += Pair(u, a0 + e);
        s1 += Pair(u, a1 + e);
        if (TBatch.Tokens <= 2) return;
        s2 += Pair(u, a2 + e);
        s3 += Pair(u, a3 + e);
        if (TBatch.Tokens <= 4) return;
        s4 += Pair(u, a4 + e);
        s5 += Pair(u, a5 + e);
        s6 += Pair(u, a6 + e);
        s7 += Pair(u, a7 + e);
    }
}
