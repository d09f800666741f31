using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Q6_K decode (one weight row × one activation row) with 512-bit AVX-512BW arithmetic, the counterpart of
/// <see cref="Q4KWideDecode"/>. Each half of a super-block (128 elements) is one 64-byte load of low nibbles and one
/// 32-byte load of high bit pairs, doubled across the vector so one variable shift picks each 32-element quarter's
/// pair: two vectors of 64 consecutive 6-bit values, each one <c>vpmaddubsw</c> with the activations as stored and
/// one <c>vpmaddwd</c> with its four groups' scales (one <c>vpermw</c>). The offset of 32 comes off once per
/// super-block through the scaled 16-sums. Rows are read front to back as one stream (see <see cref="DecodePrefetch"/>).
/// </summary>
[SkipLocalsInit]
internal static unsafe class Q6KWideDecode
{
    private const int BlockBytes = 210;

    /// <summary>Whether this CPU can run the kernel.</summary>
    public static bool IsSupported => Avx512BW.IsSupported && Avx2.IsSupported;

    /// <summary>Word indices into the sixteen group scales: groups first…first+3, eight words each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> ScaleIndex(long first) =>
        PermuteIndex.WordQuads(first, first, first + 1, first + 1, first + 2, first + 2, first + 3, first + 3);

    /// <summary>One row × one activation row (256-element layout).</summary>
    public static float Dot(byte* w, Q8Row a, int n)
    {
        var acc = Vector512<float>.Zero;
        var low = Vector512.Create((byte)0x0F);
        var pair = Vector512.Create((byte)0x03);
        // Shift counts per 16-bit word: the first 32 bytes take bits 0–1 (then 4–5), the second 32 bytes bits 2–3 (6–7).
        var firstShift = Vector512.Create(0L, 0, 0, 0, 0x0002_0002_0002_0002, 0x0002_0002_0002_0002, 0x0002_0002_0002_0002, 0x0002_0002_0002_0002).AsUInt16();
        var secondShift = firstShift + Vector512.Create((ushort)4);
        for (int b = 0; b < n / 256; b++)
        {
            byte* block = w + (long)b * BlockBytes;
            // A super-block is 210 bytes: four prefetches 64 bytes apart, the last at its end, miss no line.
            byte* ahead = block + DecodePrefetch.Distance;
            Sse.Prefetch0(ahead);
            Sse.Prefetch0(ahead + 64);
            Sse.Prefetch0(ahead + 128);
            Sse.Prefetch0(ahead + BlockBytes - 1);
            var scales16 = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(block + 192)));
            var scales = scales16.ToVector512Unsafe();
            sbyte* q = a.Qs + b * 256;
            var sum = Half(block, block + 128, q, scales, low, pair, firstShift, secondShift, ScaleIndex(0), ScaleIndex(4))
                + Half(block + 64, block + 160, q + 128, scales, low, pair, firstShift, secondShift, ScaleIndex(8), ScaleIndex(12));
            // Σ (u − 32)·a·sc = Σ u·a·sc − 32·Σ sc·(16-sums); the correction lands in the low eight lanes.
            var offset = Vector256.ShiftLeft(Avx2.MultiplyAddAdjacent(scales16, Vector256.Load(a.BSums + b * 16)), 5);
            sum -= offset.ToVector512();
            var d = HalfVector.F16PairToSingle(*(ushort*)(block + 208));
            acc = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum), Vector512.Create(d.ToScalar() * a.D[b]), acc);
        }
        return Vector512.Sum(acc);
    }

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
