using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Q4_K and Q6_K decode (one weight row × one activation row) with 512-bit AVX-512BW arithmetic. The generic
/// super-block kernel works in 32-element chunks: per chunk an unpack, a <c>vpmaddubsw</c>, a byte shuffle for the
/// chunk's scale and a <c>vpdpwssd</c>. Here every vector holds 64 values and takes one <c>vpmaddubsw</c> and one
/// <c>vpmaddwd</c> against its groups' scales (one <c>vpermw</c> of the super-block's decoded scales):
/// <list type="bullet">
/// <item>Q4_K: the 128 value bytes are two 64-byte loads whose low and high nibbles are four vectors of two chunks each
/// ([0, 2], [1, 3], [4, 6], [5, 7]); the activations are regrouped to match with 128-bit-lane shuffles.</item>
/// <item>Q6_K: each half (128 elements) is one 64-byte load of low nibbles and one 32-byte load of high bit pairs,
/// doubled across the vector so a variable shift picks each quarter's pair: two vectors of 64 consecutive values that
/// meet the activations as stored. The offset of 32 comes off once per super-block through the scaled 16-sums.</item>
/// </list>
/// d (and dmin) are widened without branches, two Q4_K super-blocks' in one conversion. Rows are read front to back as
/// one stream (see <see cref="DecodePrefetch"/>).
/// </summary>
[SkipLocalsInit]
internal static unsafe class KQuantWideDecode
{
    private const int Q4KBytes = 144;
    private const int Q6KBytes = 210;

    /// <summary>Whether this CPU can run the kernels.</summary>
    public static bool IsSupported => Avx512BW.IsSupported && Avx2.IsSupported;

    /// <summary>Q4_K word indices into [sc0..sc7, m0..m7]: chunk <paramref name="first"/>'s scale for the first 16 words, <paramref name="second"/>'s for the rest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> ChunkPairIndex(long first, long second) =>
        PermuteIndex.WordQuads(first, first, first, first, second, second, second, second);

    /// <summary>Q6_K word indices into the sixteen group scales: groups first…first+3, eight words each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> GroupQuadIndex(long first) =>
        PermuteIndex.WordQuads(first, first, first + 1, first + 1, first + 2, first + 2, first + 3, first + 3);

    /// <summary>One Q4_K row × one activation row (256-element layout).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float Q4K(byte* w, Q8Row a, int n)
    {
        var acc = Vector512<float>.Zero;
        var mins = Vector256<float>.Zero;
        var mask = Vector512.Create((byte)0x0F);
        int nsb = n / 256, b = 0;
        // Super-blocks in pairs: one widening serves both blocks' d and dmin (it costs about as much as their integer work).
        for (; b + 1 < nsb; b += 2)
        {
            byte* block = w + (long)b * Q4KBytes;
            var halves = Vector128.Create(*(uint*)block, *(uint*)(block + Q4KBytes), 0, 0).AsUInt16();
            var scaled = HalfVector.F16ToSingle(Sse41.ConvertToVector128Int32(halves).AsUInt32())
                * Vector128.Create(a.D[b], a.D[b], a.D[b + 1], a.D[b + 1]);
            Q4KSuperBlock(block, a, b, scaled, mask, ref acc, ref mins);
            Q4KSuperBlock(block + Q4KBytes, a, b + 1, Sse.MoveHighToLow(scaled, scaled), mask, ref acc, ref mins);
        }
        if (b < nsb)
        {
            byte* block = w + (long)b * Q4KBytes;
            Q4KSuperBlock(block, a, b, HalfVector.F16PairToSingle(*(uint*)block) * a.D[b], mask, ref acc, ref mins);
        }
        return Vector512.Sum(acc) - Vector256.Sum(mins);
    }

    /// <summary>One Q4_K super-block; <paramref name="scaled"/> holds d·d_a and dmin·d_a in its first two lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q4KSuperBlock(byte* block, Q8Row a, int b, Vector128<float> scaled, Vector512<byte> mask, ref Vector512<float> acc, ref Vector256<float> mins)
    {
        DecodePrefetch.Ahead(block, Q4KBytes);
        var bytes = SuperBlockUnpack.ScaleMinK4(block + 4);
        var scales = Avx2.ConvertToVector256Int16(bytes).ToVector512Unsafe();
        var z0 = Vector512.Load(block + 16);
        var z1 = Vector512.Load(block + 80);
        sbyte* q = a.Qs + b * 256;
        var a0 = Vector512.Load((long*)q);
        var a1 = Vector512.Load((long*)(q + 64));
        var a2 = Vector512.Load((long*)(q + 128));
        var a3 = Vector512.Load((long*)(q + 192));
        var sum = Chunks(z0 & mask, Avx512F.Shuffle4x128(a0, a1, 0x44), scales, ChunkPairIndex(0, 2))
            + Chunks(Avx512BW.ShiftRightLogical(z0.AsUInt16(), 4).AsByte() & mask, Avx512F.Shuffle4x128(a0, a1, 0xEE), scales, ChunkPairIndex(1, 3))
            + Chunks(z1 & mask, Avx512F.Shuffle4x128(a2, a3, 0x44), scales, ChunkPairIndex(4, 6))
            + Chunks(Avx512BW.ShiftRightLogical(z1.AsUInt16(), 4).AsByte() & mask, Avx512F.Shuffle4x128(a2, a3, 0xEE), scales, ChunkPairIndex(5, 7));
        acc = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum), Vector512.Create(scaled.ToScalar()), acc);
        var m = Avx2.MultiplyAddAdjacent(SuperBlockUnpack.Doubled(bytes, 8), Vector256.Load(a.BSums + b * 16));
        mins = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(m), Vector256.Create(scaled.GetElement(1)), mins);
    }

    /// <summary>One Q6_K row × one activation row (256-element layout).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float Q6K(byte* w, Q8Row a, int n)
    {
        var acc = Vector512<float>.Zero;
        var low = Vector512.Create((byte)0x0F);
        var pair = Vector512.Create((byte)0x03);
        // Shift counts per 16-bit word: the first 32 bytes take bits 0–1 (then 4–5), the second 32 bytes bits 2–3 (6–7).
        var firstShift = Vector512.Create(0L, 0, 0, 0, 0x0002_0002_0002_0002, 0x0002_0002_0002_0002, 0x0002_0002_0002_0002, 0x0002_0002_0002_0002).AsUInt16();
        var secondShift = firstShift + Vector512.Create((ushort)4);
        for (int b = 0; b < n / 256; b++)
        {
            byte* block = w + (long)b * Q6KBytes;
            DecodePrefetch.Ahead(block, Q6KBytes);
            var scales16 = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(block + 192)));
            var scales = scales16.ToVector512Unsafe();
            sbyte* q = a.Qs + b * 256;
            var sum = Half(block, block + 128, q, scales, low, pair, firstShift, secondShift, GroupQuadIndex(0), GroupQuadIndex(4))
                + Half(block + 64, block + 160, q + 128, scales, low, pair, firstShift, secondShift, GroupQuadIndex(8), GroupQuadIndex(12));
            // Σ (u − 32)·a·sc = Σ u·a·sc − 32·Σ sc·(16-sums); the correction lands in the low eight lanes.
            var offset = Vector256.ShiftLeft(Avx2.MultiplyAddAdjacent(scales16, Vector256.Load(a.BSums + b * 16)), 5);
            sum -= offset.ToVector512();
            var d = HalfVector.F16PairToSingle(*(ushort*)(block + 208));
            acc = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum), Vector512.Create(d.ToScalar() * a.D[b]), acc);
        }
        return Vector512.Sum(acc);
    }

    /// <summary>Two chunks' nibbles × their activations, each chunk's word pairs times its scale: sixteen int32 partial sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Chunks(Vector512<byte> nibbles, Vector512<long> activations, Vector512<short> scales, Vector512<short> index) =>
        // Nibble × byte pairs are at most 2·15·128; times a 6-bit scale and summed in pairs they stay far inside int32.
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(nibbles, activations.AsSByte()), Avx512BW.PermuteVar32x16(scales, index));

    /// <summary>
    /// One half super-block: <paramref name="ql"/> holds the low nibbles of its elements 0–63 (low) and 64–127 (high),
    /// <paramref name="qh"/> their bit pairs (32 bytes, quarter k in bits 2k, 2k+1).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Half(byte* ql, byte* qh, sbyte* q, Vector512<short> scales, Vector512<byte> low, Vector512<byte> pair,
        Vector512<ushort> firstShift, Vector512<ushort> secondShift, Vector512<short> firstGroups, Vector512<short> secondGroups)
    {
        var nibbles = Vector512.Load(ql);
        var h = Vector256.Load(qh);
        var highs = Avx512F.InsertVector256(h.ToVector512Unsafe(), h, 1).AsUInt16();
        // Word shifts keep each byte's own bits: bits s, s+1 of a byte stay in that byte for s ≤ 6.
        var u0 = (nibbles & low) | Vector512.ShiftLeft((Avx512BW.ShiftRightLogicalVariable(highs, firstShift).AsByte() & pair).AsUInt16(), 4).AsByte();
        var u1 = (Avx512BW.ShiftRightLogical(nibbles.AsUInt16(), 4).AsByte() & low)
            | Vector512.ShiftLeft((Avx512BW.ShiftRightLogicalVariable(highs, secondShift).AsByte() & pair).AsUInt16(), 4).AsByte();
        // 6-bit values × bytes: pairs at most 2·63·128, inside vpmaddubsw's 16 bits.
        var s0 = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u0, Vector512.Load(q)), Avx512BW.PermuteVar32x16(scales, firstGroups));
        var s1 = Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u1, Vector512.Load(q + 64)), Avx512BW.PermuteVar32x16(scales, secondGroups));
        return s0 + s1;
    }
}
