using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Integer dot products of 32-element weight blocks with 8-bit activations: per block, 32 unsigned weight bytes
/// times 32 signed activation bytes (one <c>vpdpbusd</c> with AVX-VNNI, <c>vpmaddubsw</c> + <c>vpmaddwd</c> with AVX2),
/// converted to float and scaled by d_w·d_a into a vector accumulator; offsets and minimums are folded in with the
/// activations' scaled block sums. Decode reads rows one after the other as a single stream (see
/// <see cref="DecodePrefetch"/>); the tiles widen four rows' block scales together. Requires AVX2 (callers fall back
/// to the scalar twins without it).
/// </summary>
[SkipLocalsInit]
internal static unsafe class Block32Kernels<T> where T : struct, IBlock32
{
    /// <summary>Offset still to subtract: the AVX2 path for signed weights multiplies them directly (sign trick).</summary>
    private static int EffectiveOffset
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => T.Offset == 128 && !AvxVnni.IsSupported ? 0 : T.Offset;
    }

    /// <summary>How far ahead the tiles prefetch: the same position four rows on, i.e. the next row quad.</summary>
    private const int PrefetchRows = 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> DotBytes(Vector256<byte> u, Vector256<sbyte> a)
    {
        if (AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, a);
        var ones = Vector256.Create((short)1);
        if (T.Offset == 128)
        {
            // Signed weights: |w| × (a with w's sign) keeps vpmaddubsw's pairs below saturation.
            var s = (u ^ Vector256.Create((byte)0x80)).AsSByte();
            return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Abs(s), Avx2.Sign(a, s)), ones);
        }
        // Unsigned values of at most 31 here: pairs stay far below saturation.
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, a), ones);
    }

    /// <summary>The correction factor of each block: m − offset·d (one per row, four rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Correction4(byte* block, long rowBytes, Vector128<float> d)
    {
        var c = EffectiveOffset == 0 ? Vector128<float>.Zero : d * Vector128.Create((float)-EffectiveOffset);
        if (T.MinOffset >= 0) c += BlockUnpack.F16x4(block + T.MinOffset, rowBytes);
        return c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Lane(Vector256<float> v, int lane) => Avx2.PermuteVar8x32(v, Vector256.Create(lane));

    /// <summary>
    /// One row × one activation row, read front to back as one stream, eight blocks per iteration: their f16 scales
    /// (and minimums) come in one vector (<see cref="StridedDwords"/>) and are widened together, not one by one.
    /// </summary>
    // Never inlined: the four-row wrappers (RowTiles.Dot4Rows) would take the whole body four times over, and past the
    // JIT's inlining budget the unpack and product helpers inside stay calls with their vectors passed through memory
    // (measured: Q5_0 decode 4.6 GB/s against 30 with its own compilation).
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float Dot(byte* w, Q8Row a, int n)
    {
        int nb = n / 32, bb = T.BlockBytes, offset = EffectiveOffset;
        // Four accumulators: each takes two multiply-adds per iteration, so their latency does not bound the loop.
        Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        var corr = Vector256<float>.Zero;
        int b = 0;
        for (; b + 8 <= nb; b += 8)
        {
            byte* blk = w + b * bb;
            DecodePrefetch.Ahead(blk, 8 * T.BlockBytes);
            // The dwords hold each block's f16 in their low half; the widening ignores the high half.
            var d = HalfVector.FromBits(StridedDwords.Load8(blk + T.ScaleOffset, bb));
            var c = offset == 0 ? Vector256<float>.Zero : d * Vector256.Create((float)-offset);
            if (T.MinOffset >= 0) c += HalfVector.FromBits(StridedDwords.Load8(blk + T.MinOffset, bb));
            corr = Vector256.FusedMultiplyAdd(c, Vector256.Load(a.SumsScaled + b), corr);
            var scale = d * Vector256.Load(a.D + b);
            sbyte* q = a.Qs + b * 32;
            acc0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(T.Unpack(blk), Vector256.Load(q))), Lane(scale, 0), acc0);
            acc1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(T.Unpack(blk + bb), Vector256.Load(q + 32))), Lane(scale, 1), acc1);
            acc2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(T.Unpack(blk + 2 * bb), Vector256.Load(q + 64))), Lane(scale, 2), acc2);
            acc3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(T.Unpack(blk + 3 * bb), Vector256.Load(q + 96))), Lane(scale, 3), acc3);
            acc0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(T.Unpack(blk + 4 * bb), Vector256.Load(q + 128))), Lane(scale, 4), acc0);
            acc1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(T.Unpack(blk + 5 * bb), Vector256.Load(q + 160))), Lane(scale, 5), acc1);
            acc2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(T.Unpack(blk + 6 * bb), Vector256.Load(q + 192))), Lane(scale, 6), acc2);
            acc3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(T.Unpack(blk + 7 * bb), Vector256.Load(q + 224))), Lane(scale, 7), acc3);
        }
        float tail = 0;
        for (; b < nb; b++)
        {
            byte* blk = w + b * bb;
            var lanes = DotBytes(T.Unpack(blk), Vector256.Load(a.Qs + b * 32));
            float d = BlockUnpack.F16(blk + T.ScaleOffset);
            float m = T.MinOffset >= 0 ? BlockUnpack.F16(blk + T.MinOffset) : 0;
            acc0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(lanes), Vector256.Create(d * a.D[b]), acc0);
            tail += (m - offset * d) * a.SumsScaled[b];
        }
        return Vector256.Sum((acc0 + acc1) + (acc2 + acc3)) + Vector256.Sum(corr) + tail;
    }

    /// <summary>
    /// Four rows × four activation rows: each weight block is unpacked once and used four times.
    /// <paramref name="output"/>[t·<paramref name="outputStride"/> + r] receives row r against activation t.
    /// </summary>
    public static void Tile4x4(byte* w, long rowBytes, Q8Row a0, Q8Row a1, Q8Row a2, Q8Row a3, int n, float* output, long outputStride)
    {
        int nb = n / 32, bb = T.BlockBytes;
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector256<float> s10 = default, s11 = default, s12 = default, s13 = default;
        Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default;
        Vector256<float> s30 = default, s31 = default, s32 = default, s33 = default;
        Vector128<float> corr0 = default, corr1 = default, corr2 = default, corr3 = default;
        for (int b = 0; b < nb; b++)
        {
            long o = (long)b * bb;
            byte* w0 = w + o, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
            if ((b & 1) == 0)
            {
                long ahead = PrefetchRows * rowBytes;
                Sse.Prefetch0(w0 + ahead);
                Sse.Prefetch0(w1 + ahead);
                Sse.Prefetch0(w2 + ahead);
                Sse.Prefetch0(w3 + ahead);
            }
            var u0 = T.Unpack(w0);
            var u1 = T.Unpack(w1);
            var u2 = T.Unpack(w2);
            var u3 = T.Unpack(w3);
            var d = BlockUnpack.F16x4(w0 + T.ScaleOffset, rowBytes);
            var c = Correction4(w0, rowBytes, d);
            // Correction of row r for token t: c[r]·SumsScaled_t; kept per token as a vector over rows.
            corr0 = Vector128.FusedMultiplyAdd(c, Vector128.Create(a0.SumsScaled[b]), corr0);
            corr1 = Vector128.FusedMultiplyAdd(c, Vector128.Create(a1.SumsScaled[b]), corr1);
            corr2 = Vector128.FusedMultiplyAdd(c, Vector128.Create(a2.SumsScaled[b]), corr2);
            corr3 = Vector128.FusedMultiplyAdd(c, Vector128.Create(a3.SumsScaled[b]), corr3);
            var dv = d.ToVector256Unsafe();
            var bw0 = Lane(dv, 0);
            var bw1 = Lane(dv, 1);
            var bw2 = Lane(dv, 2);
            var bw3 = Lane(dv, 3);

            var av = Vector256.Load(a0.Qs + b * 32);
            var ba = Vector256.Create(a0.D[b]);
            s00 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u0, av)), bw0 * ba, s00);
            s10 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u1, av)), bw1 * ba, s10);
            s20 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u2, av)), bw2 * ba, s20);
            s30 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u3, av)), bw3 * ba, s30);
            av = Vector256.Load(a1.Qs + b * 32);
            ba = Vector256.Create(a1.D[b]);
            s01 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u0, av)), bw0 * ba, s01);
            s11 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u1, av)), bw1 * ba, s11);
            s21 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u2, av)), bw2 * ba, s21);
            s31 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u3, av)), bw3 * ba, s31);
            av = Vector256.Load(a2.Qs + b * 32);
            ba = Vector256.Create(a2.D[b]);
            s02 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u0, av)), bw0 * ba, s02);
            s12 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u1, av)), bw1 * ba, s12);
            s22 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u2, av)), bw2 * ba, s22);
            s32 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u3, av)), bw3 * ba, s32);
            av = Vector256.Load(a3.Qs + b * 32);
            ba = Vector256.Create(a3.D[b]);
            s03 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u0, av)), bw0 * ba, s03);
            s13 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u1, av)), bw1 * ba, s13);
            s23 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u2, av)), bw2 * ba, s23);
            s33 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u3, av)), bw3 * ba, s33);
        }
        (Vector128.Create(Vector256.Sum(s00), Vector256.Sum(s10), Vector256.Sum(s20), Vector256.Sum(s30)) + corr0).Store(output);
        (Vector128.Create(Vector256.Sum(s01), Vector256.Sum(s11), Vector256.Sum(s21), Vector256.Sum(s31)) + corr1).Store(output + outputStride);
        (Vector128.Create(Vector256.Sum(s02), Vector256.Sum(s12), Vector256.Sum(s22), Vector256.Sum(s32)) + corr2).Store(output + 2 * outputStride);
        (Vector128.Create(Vector256.Sum(s03), Vector256.Sum(s13), Vector256.Sum(s23), Vector256.Sum(s33)) + corr3).Store(output + 3 * outputStride);
    }
}
