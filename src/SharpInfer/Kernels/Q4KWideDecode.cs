using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Q4_K decode (one weight row × one activation row) with 512-bit AVX-512BW arithmetic. The generic super-block kernel
/// works in 32-element chunks: per chunk a nibble unpack, a <c>vpmaddubsw</c>, a byte shuffle for the chunk's scale and
/// a <c>vpdpwssd</c>. Here a super-block's 128 value bytes are two 64-byte loads whose low and high nibbles are four
/// vectors of two chunks each ([0, 2], [1, 3], [4, 6], [5, 7]); the activations are regrouped to match with four
/// 128-bit-lane shuffles, and each vector takes one <c>vpmaddubsw</c> and one <c>vpmaddwd</c> against its two chunks'
/// scales (one <c>vpermw</c> of the eight decoded scales). Rows are read front to back as one stream (see
/// <see cref="DecodePrefetch"/>).
/// </summary>
[SkipLocalsInit]
internal static unsafe class Q4KWideDecode
{
    private const int BlockBytes = 144;

    /// <summary>Whether this CPU can run the kernel.</summary>
    public static bool IsSupported => Avx512BW.IsSupported && Avx2.IsSupported;

    /// <summary>Word indices into [sc0..sc7, m0..m7]: chunk <paramref name="first"/>'s scale for the first 16 words, <paramref name="second"/>'s for the rest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> ScaleIndex(long first, long second) =>
        PermuteIndex.WordQuads(first, first, first, first, second, second, second, second);

    /// <summary>One row × one activation row (256-element layout).</summary>
    public static float Dot(byte* w, Q8Row a, int n)
    {
        var acc = Vector512<float>.Zero;
        var mins = Vector256<float>.Zero;
        var mask = Vector512.Create((byte)0x0F);
        for (int b = 0; b < n / 256; b++)
        {
            byte* block = w + (long)b * BlockBytes;
            // A super-block is 144 bytes: prefetch addresses 64 bytes apart (and 16 across blocks) miss no line.
            byte* ahead = block + DecodePrefetch.Distance;
            Sse.Prefetch0(ahead);
            Sse.Prefetch0(ahead + 64);
            Sse.Prefetch0(ahead + 128);
            var bytes = ScalesAndMins(block + 4);
            var scales = Avx2.ConvertToVector256Int16(bytes).ToVector512Unsafe();
            var z0 = Vector512.Load(block + 16);
            var z1 = Vector512.Load(block + 80);
            sbyte* q = a.Qs + b * 256;
            var a0 = Vector512.Load((long*)q);
            var a1 = Vector512.Load((long*)(q + 64));
            var a2 = Vector512.Load((long*)(q + 128));
            var a3 = Vector512.Load((long*)(q + 192));
            var sum = Chunks(z0 & mask, Avx512F.Shuffle4x128(a0, a1, 0x44), scales, ScaleIndex(0, 2))
                + Chunks(Avx512BW.ShiftRightLogical(z0.AsUInt16(), 4).AsByte() & mask, Avx512F.Shuffle4x128(a0, a1, 0xEE), scales, ScaleIndex(1, 3))
                + Chunks(z1 & mask, Avx512F.Shuffle4x128(a2, a3, 0x44), scales, ScaleIndex(4, 6))
                + Chunks(Avx512BW.ShiftRightLogical(z1.AsUInt16(), 4).AsByte() & mask, Avx512F.Shuffle4x128(a2, a3, 0xEE), scales, ScaleIndex(5, 7));
            // d and dmin widened together, times the activation scale.
            var scaled = HalfVector.F16PairToSingle(*(uint*)block) * a.D[b];
            acc = Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(sum), Vector512.Create(scaled.ToScalar()), acc);
            var m = Avx2.MultiplyAddAdjacent(SuperBlockUnpack.Doubled(bytes, 8), Vector256.Load(a.BSums + b * 16));
            mins = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(m), Vector256.Create(scaled.GetElement(1)), mins);
        }
        return Vector512.Sum(acc) - Vector256.Sum(mins);
    }

    /// <summary>
    /// <see cref="SuperBlockUnpack.ScaleMinK4"/> in four vector operations on the three packed dwords instead of a
    /// dozen scalar ones: lanes [a0, a2, a1, a2 ≫ 4] masked to the low bits, ORed with the top bits of a0 and a1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> ScalesAndMins(byte* packed)
    {
        var v = Vector128.Load((uint*)packed);
        var low = Avx2.ShiftRightLogicalVariable(Sse2.Shuffle(v, 0x98), Vector128.Create(0u, 0, 0, 4))
            & Vector128.Create(0x3F3F3F3Fu, 0x0F0F0F0Fu, 0x3F3F3F3Fu, 0x0F0F0F0Fu);
        var high = Vector128.ShiftLeft(Vector128.ShiftRightLogical(Sse2.Shuffle(v, 0x50), 6) & Vector128.Create(0u, 0x03030303u, 0, 0x03030303u), 4);
        return (low | high).AsByte();
    }

    /// <summary>Two chunks' nibbles × their activations, each chunk's word pairs times its scale: sixteen int32 partial sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Chunks(Vector512<byte> nibbles, Vector512<long> activations, Vector512<short> scales, Vector512<short> index) =>
        // Nibble × byte pairs are at most 2·15·128; times a 6-bit scale and summed in pairs they stay far inside int32.
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(nibbles, activations.AsSByte()), Avx512BW.PermuteVar32x16(scales, index));
}
