using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Integer dot products of K-quant super-blocks with Q8_K activations, decoded in registers: each 32-element chunk of
/// unsigned weights meets the activations in <c>vpmaddubsw</c> (pairs to 16 bits, far below saturation since U ≤ 63),
/// and the pairs meet the chunk's two group scales in <c>vpmaddwd</c> (or AVX-VNNI's fused <c>vpdpwssd</c>), summed in
/// 32 bits. Fixed offsets come off in integers through the activations' 16-element sums; minimums through the same
/// sums times dmin. One float multiply-add per super-block applies d·d_a. Requires AVX2 (callers fall back to the
/// scalar twins without it).
/// </summary>
[SkipLocalsInit]
internal static unsafe class SuperBlockKernels<T> where T : struct, ISuperBlock
{
    /// <summary>How far ahead decode prefetches: the same position four rows on, i.e. the next row quad.</summary>
    private const int PrefetchRows = 4;

    /// <summary>The chunk's 16-bit scale vector: group 2c's scale in the low 128 bits, group 2c+1's in the high.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> ChunkScales(Vector256<short> low, Vector256<short> high, int chunk)
    {
        // Shorts 2c (low lane) and 2c+1 (high lane) of the half holding them; the control is a constant plus 4·(c mod 4).
        var control = Vector256.Create((byte)0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3)
            + Vector256.Create((byte)(4 * (chunk & 3)));
        return Avx2.Shuffle((chunk < 4 ? low : high).AsByte(), control).AsInt16();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Accumulate(Vector256<int> sum, Vector256<byte> u, sbyte* a, Vector256<short> scales)
    {
        var pairs = Avx2.MultiplyAddAdjacent(u, Vector256.Load(a));
        if (AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(sum, pairs, scales);
        return sum + Avx2.MultiplyAddAdjacent(pairs, scales);
    }

    /// <summary>Per-row decoding of one super-block: the eight chunk scale vectors and the 16 group scales and minimums.</summary>
    private struct Decoded
    {
        public Vector256<short> Low, High, Scales, Mins;
        public float D, DMin;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Decode(byte* block, out Decoded k)
    {
        T.Scales(block, out var scales, out var mins);
        var low = Avx2.Permute2x128(scales, scales, 0x00);
        var high = Avx2.Permute2x128(scales, scales, 0x11);
        k.Low = low;
        k.High = high;
        k.Scales = scales;
        k.Mins = mins;
        k.D = T.D(block);
        k.DMin = T.HasMins ? T.DMin(block) : 0;
    }

    /// <summary>Σ sc·(U − offset)·a over one super-block for one activation row, as eight int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> IntegerDot(byte* block, in Decoded k, sbyte* a, short* bsums)
    {
        var sum = Vector256<int>.Zero;
        T.Values(block, 0, out var u0, out var u1);
        sum = Accumulate(sum, u0, a, ChunkScales(k.Low, k.High, 0));
        sum = Accumulate(sum, u1, a + 32, ChunkScales(k.Low, k.High, 1));
        T.Values(block, 1, out u0, out u1);
        sum = Accumulate(sum, u0, a + 64, ChunkScales(k.Low, k.High, 2));
        sum = Accumulate(sum, u1, a + 96, ChunkScales(k.Low, k.High, 3));
        T.Values(block, 2, out u0, out u1);
        sum = Accumulate(sum, u0, a + 128, ChunkScales(k.Low, k.High, 4));
        sum = Accumulate(sum, u1, a + 160, ChunkScales(k.Low, k.High, 5));
        T.Values(block, 3, out u0, out u1);
        sum = Accumulate(sum, u0, a + 192, ChunkScales(k.Low, k.High, 6));
        sum = Accumulate(sum, u1, a + 224, ChunkScales(k.Low, k.High, 7));
        if (T.Offset != 0)
        {
            var offsetTerms = Avx2.MultiplyAddAdjacent(k.Scales, Vector256.Load(bsums));
            sum -= T.Offset == 32 ? Vector256.ShiftLeft(offsetTerms, 5) : offsetTerms * Vector256.Create(T.Offset);
        }
        return sum;
    }

    /// <summary>Adds one super-block of one row against one activation row into the float accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step(byte* block, in Decoded k, Q8Row a, int b, ref Vector256<float> acc, ref Vector256<float> mins)
    {
        float da = a.D[b];
        short* bsums = a.BSums + b * 16;
        var sum = IntegerDot(block, k, a.Qs + b * 256, bsums);
        acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sum), Vector256.Create(k.D * da), acc);
        if (T.HasMins)
        {
            var m = Avx2.MultiplyAddAdjacent(k.Mins, Vector256.Load(bsums));
            mins = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(m), Vector256.Create(k.DMin * da), mins);
        }
    }

    /// <summary>One row × one activation row.</summary>
    public static float Dot(byte* w, Q8Row a, int n)
    {
        var acc = Vector256<float>.Zero;
        var mins = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++)
        {
            byte* block = w + (long)b * T.BlockBytes;
            Decode(block, out var k);
            Step(block, k, a, b, ref acc, ref mins);
        }
        return Vector256.Sum(acc) - Vector256.Sum(mins);
    }

    /// <summary>Four consecutive rows × one activation row, prefetching the next row quad.</summary>
    public static void Dot4Rows(byte* w, long rowBytes, Q8Row a, int n, float* output)
    {
        long ahead = PrefetchRows * rowBytes;
        for (int r = 0; r < 4; r++)
        {
            byte* row = w + r * rowBytes;
            var acc = Vector256<float>.Zero;
            var mins = Vector256<float>.Zero;
            for (int b = 0; b < n / 256; b++)
            {
                byte* block = row + (long)b * T.BlockBytes;
                // A super-block spans at most four lines (210 bytes): fetch them for the row four below.
                Sse.Prefetch0(block + ahead);
                Sse.Prefetch0(block + ahead + 64);
                Sse.Prefetch0(block + ahead + 128);
                if (T.BlockBytes > 128) Sse.Prefetch0(block + ahead + T.BlockBytes - 1);
                Decode(block, out var k);
                Step(block, k, a, b, ref acc, ref mins);
            }
            output[r] = Vector256.Sum(acc) - Vector256.Sum(mins);
        }
    }

    /// <summary>One chunk pair of one row against four tokens: the pair is decoded once, its values meet all four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pair4(byte* block, int pair, Vector256<short> first, Vector256<short> second, int offset,
        sbyte* a0, sbyte* a1, sbyte* a2, sbyte* a3,
        ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3)
    {
        T.Values(block, pair, out var u0, out var u1);
        s0 = Accumulate(Accumulate(s0, u0, a0 + offset, first), u1, a0 + offset + 32, second);
        s1 = Accumulate(Accumulate(s1, u0, a1 + offset, first), u1, a1 + offset + 32, second);
        s2 = Accumulate(Accumulate(s2, u0, a2 + offset, first), u1, a2 + offset + 32, second);
        s3 = Accumulate(Accumulate(s3, u0, a3 + offset, first), u1, a3 + offset + 32, second);
    }

    /// <summary>Applies offsets or minimums and d·d_a for one token's super-block sum.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(Vector256<int> sum, in Decoded k, Q8Row a, int b, ref Vector256<float> acc, ref Vector256<float> mins)
    {
        float da = a.D[b];
        var bsums = Vector256.Load(a.BSums + b * 16);
        if (T.Offset != 0)
        {
            var offsetTerms = Avx2.MultiplyAddAdjacent(k.Scales, bsums);
            sum -= T.Offset == 32 ? Vector256.ShiftLeft(offsetTerms, 5) : offsetTerms * Vector256.Create(T.Offset);
        }
        acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sum), Vector256.Create(k.D * da), acc);
        if (T.HasMins)
        {
            var m = Avx2.MultiplyAddAdjacent(k.Mins, bsums);
            mins = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(m), Vector256.Create(k.DMin * da), mins);
        }
    }

    /// <summary>Four rows × four activation rows; each super-block is decoded once and each chunk pair used four times.</summary>
    public static void Tile4x4(byte* w, long rowBytes, Q8Row a0, Q8Row a1, Q8Row a2, Q8Row a3, int n, float* output, long outputStride)
    {
        for (int r = 0; r < 4; r++)
        {
            byte* row = w + r * rowBytes;
            Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            Vector256<float> m0 = default, m1 = default, m2 = default, m3 = default;
            for (int b = 0; b < n / 256; b++)
            {
                byte* block = row + (long)b * T.BlockBytes;
                // Decode of several sequences streams weights too: fetch the next row quad's lines.
                for (int line = 0; line < T.BlockBytes; line += 64) Sse.Prefetch0(block + 4 * rowBytes + line);
                Decode(block, out var k);
                sbyte* q0 = a0.Qs + b * 256, q1 = a1.Qs + b * 256, q2 = a2.Qs + b * 256, q3 = a3.Qs + b * 256;
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                Pair4(block, 0, ChunkScales(k.Low, k.High, 0), ChunkScales(k.Low, k.High, 1), 0, q0, q1, q2, q3, ref s0, ref s1, ref s2, ref s3);
                Pair4(block, 1, ChunkScales(k.Low, k.High, 2), ChunkScales(k.Low, k.High, 3), 64, q0, q1, q2, q3, ref s0, ref s1, ref s2, ref s3);
                Pair4(block, 2, ChunkScales(k.Low, k.High, 4), ChunkScales(k.Low, k.High, 5), 128, q0, q1, q2, q3, ref s0, ref s1, ref s2, ref s3);
                Pair4(block, 3, ChunkScales(k.Low, k.High, 6), ChunkScales(k.Low, k.High, 7), 192, q0, q1, q2, q3, ref s0, ref s1, ref s2, ref s3);
                Finish(s0, k, a0, b, ref acc0, ref m0);
                Finish(s1, k, a1, b, ref acc1, ref m1);
                Finish(s2, k, a2, b, ref acc2, ref m2);
                Finish(s3, k, a3, b, ref acc3, ref m3);
            }
            output[r] = Vector256.Sum(acc0) - Vector256.Sum(m0);
            output[outputStride + r] = Vector256.Sum(acc1) - Vector256.Sum(m1);
            output[2 * outputStride + r] = Vector256.Sum(acc2) - Vector256.Sum(m2);
            output[3 * outputStride + r] = Vector256.Sum(acc3) - Vector256.Sum(m3);
        }
    }

    /// <summary>Finish with the minimums folded into the one accumulator (saves registers in the wide tile).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> FinishFolded(Vector256<int> sum, in Decoded k, float da, short* bsumsPtr, Vector256<float> acc)
    {
        var bsums = Vector256.Load(bsumsPtr);
        if (T.Offset != 0)
        {
            var offsetTerms = Avx2.MultiplyAddAdjacent(k.Scales, bsums);
            sum -= T.Offset == 32 ? Vector256.ShiftLeft(offsetTerms, 5) : offsetTerms * Vector256.Create(T.Offset);
        }
        acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sum), Vector256.Create(k.D * da), acc);
        if (T.HasMins)
        {
            var m = Avx2.MultiplyAddAdjacent(k.Mins, bsums);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(m), Vector256.Create(-k.DMin * da), acc);
        }
        return acc;
    }

    /// <summary>
    /// Four rows × eight consecutive activation rows (the multi-sequence decode shape): each super-block's scales are
    /// decoded once per row and each chunk pair once for all eight tokens.
    /// <paramref name="output"/>[t·<paramref name="outputStride"/> + r] receives row r against token t.
    /// </summary>
    public static void Tile4x8(byte* w, long rowBytes, Q8Row first, int n, float* output, long outputStride)
    {
        int nsb = n / 256;
        sbyte* qs = first.Qs;
        for (int r = 0; r < 4; r++)
        {
            byte* row = w + r * rowBytes;
            Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default, f4 = default, f5 = default, f6 = default, f7 = default;
            for (int b = 0; b < nsb; b++)
            {
                byte* block = row + (long)b * T.BlockBytes;
                for (int line = 0; line < T.BlockBytes; line += 64) Sse.Prefetch0(block + 4 * rowBytes + line);
                Decode(block, out var k);
                sbyte* q = qs + b * 256;
                Vector256<int> s0, s1, s2, s3, s4, s5, s6, s7;
                if (Avx512BW.IsSupported)
                {
                    Vector512<int> w0 = default, w1 = default, w2 = default, w3 = default, w4 = default, w5 = default, w6 = default, w7 = default;
                    var scales = k.Scales.ToVector512Unsafe();
                    Pair8Wide(block, 0, scales, q, n, ref w0, ref w1, ref w2, ref w3, ref w4, ref w5, ref w6, ref w7);
                    Pair8Wide(block, 1, scales, q + 64, n, ref w0, ref w1, ref w2, ref w3, ref w4, ref w5, ref w6, ref w7);
                    Pair8Wide(block, 2, scales, q + 128, n, ref w0, ref w1, ref w2, ref w3, ref w4, ref w5, ref w6, ref w7);
                    Pair8Wide(block, 3, scales, q + 192, n, ref w0, ref w1, ref w2, ref w3, ref w4, ref w5, ref w6, ref w7);
                    s0 = w0.GetLower() + w0.GetUpper();
                    s1 = w1.GetLower() + w1.GetUpper();
                    s2 = w2.GetLower() + w2.GetUpper();
                    s3 = w3.GetLower() + w3.GetUpper();
                    s4 = w4.GetLower() + w4.GetUpper();
                    s5 = w5.GetLower() + w5.GetUpper();
                    s6 = w6.GetLower() + w6.GetUpper();
                    s7 = w7.GetLower() + w7.GetUpper();
                }
                else
                {
                    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = default;
                    Pair8(block, 0, ChunkScales(k.Low, k.High, 0), ChunkScales(k.Low, k.High, 1), q, n, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
                    Pair8(block, 1, ChunkScales(k.Low, k.High, 2), ChunkScales(k.Low, k.High, 3), q + 64, n, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
                    Pair8(block, 2, ChunkScales(k.Low, k.High, 4), ChunkScales(k.Low, k.High, 5), q + 128, n, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
                    Pair8(block, 3, ChunkScales(k.Low, k.High, 6), ChunkScales(k.Low, k.High, 7), q + 192, n, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
                }
                float* d = first.D + b;
                short* bs = first.BSums + b * 16;
                int dStride = nsb, bStride = n / 16;
                f0 = FinishFolded(s0, k, d[0], bs, f0);
                f1 = FinishFolded(s1, k, d[dStride], bs + bStride, f1);
                f2 = FinishFolded(s2, k, d[2 * dStride], bs + 2 * bStride, f2);
                f3 = FinishFolded(s3, k, d[3 * dStride], bs + 3 * bStride, f3);
                f4 = FinishFolded(s4, k, d[4 * dStride], bs + 4 * bStride, f4);
                f5 = FinishFolded(s5, k, d[5 * dStride], bs + 5 * bStride, f5);
                f6 = FinishFolded(s6, k, d[6 * dStride], bs + 6 * bStride, f6);
                f7 = FinishFolded(s7, k, d[7 * dStride], bs + 7 * bStride, f7);
            }
            output[r] = Vector256.Sum(f0);
            output[outputStride + r] = Vector256.Sum(f1);
            output[2 * outputStride + r] = Vector256.Sum(f2);
            output[3 * outputStride + r] = Vector256.Sum(f3);
            output[4 * outputStride + r] = Vector256.Sum(f4);
            output[5 * outputStride + r] = Vector256.Sum(f5);
            output[6 * outputStride + r] = Vector256.Sum(f6);
            output[7 * outputStride + r] = Vector256.Sum(f7);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pair8(byte* block, int pair, Vector256<short> firstScales, Vector256<short> secondScales, sbyte* a, int n,
        ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3,
        ref Vector256<int> s4, ref Vector256<int> s5, ref Vector256<int> s6, ref Vector256<int> s7)
    {
        T.Values(block, pair, out var u0, out var u1);
        s0 = Accumulate(Accumulate(s0, u0, a, firstScales), u1, a + 32, secondScales);
        s1 = Accumulate(Accumulate(s1, u0, a + n, firstScales), u1, a + n + 32, secondScales);
        s2 = Accumulate(Accumulate(s2, u0, a + 2 * n, firstScales), u1, a + 2 * n + 32, secondScales);
        s3 = Accumulate(Accumulate(s3, u0, a + 3 * n, firstScales), u1, a + 3 * n + 32, secondScales);
        s4 = Accumulate(Accumulate(s4, u0, a + 4 * n, firstScales), u1, a + 4 * n + 32, secondScales);
        s5 = Accumulate(Accumulate(s5, u0, a + 5 * n, firstScales), u1, a + 5 * n + 32, secondScales);
        s6 = Accumulate(Accumulate(s6, u0, a + 6 * n, firstScales), u1, a + 6 * n + 32, secondScales);
        s7 = Accumulate(Accumulate(s7, u0, a + 7 * n, firstScales), u1, a + 7 * n + 32, secondScales);
    }

    /// <summary>
    /// AVX-512BW form of <see cref="Pair8"/>: a chunk pair is one 64-byte vector, so each token costs one
    /// <c>vpmaddubsw</c>, one <c>vpmaddwd</c> with the four groups' scales and one add per 64 elements.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pair8Wide(byte* block, int pair, Vector512<short> scales16, sbyte* a, int n,
        ref Vector512<int> s0, ref Vector512<int> s1, ref Vector512<int> s2, ref Vector512<int> s3,
        ref Vector512<int> s4, ref Vector512<int> s5, ref Vector512<int> s6, ref Vector512<int> s7)
    {
        T.Values(block, pair, out var u0, out var u1);
        var u = Avx512F.InsertVector256(u0.ToVector512Unsafe(), u1, 1);
        // Chunk 2p covers groups 4p and 4p+1, chunk 2p+1 groups 4p+2 and 4p+3: each group's scale over 8 shorts.
        short g = (short)(4 * pair);
        var index = Vector512.Create(g, g, g, g, g, g, g, g, (short)(g + 1), (short)(g + 1), (short)(g + 1), (short)(g + 1), (short)(g + 1), (short)(g + 1), (short)(g + 1), (short)(g + 1),
            (short)(g + 2), (short)(g + 2), (short)(g + 2), (short)(g + 2), (short)(g + 2), (short)(g + 2), (short)(g + 2), (short)(g + 2),
            (short)(g + 3), (short)(g + 3), (short)(g + 3), (short)(g + 3), (short)(g + 3), (short)(g + 3), (short)(g + 3), (short)(g + 3));
        var scales = Avx512BW.PermuteVar32x16(scales16, index);
        s0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(a)), scales);
        s1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(a + n)), scales);
        s2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(a + 2 * n)), scales);
        s3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(a + 3 * n)), scales);
        s4 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(a + 4 * n)), scales);
        s5 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(a + 5 * n)), scales);
        s6 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(a + 6 * n)), scales);
        s7 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(a + 7 * n)), scales);
    }
}
