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
    /// <summary>How far ahead the tiles prefetch: the same position four rows on, i.e. the next row quad.</summary>
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

    /// <summary>One row × one activation row, read front to back as one stream (see <see cref="DecodePrefetch"/>).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float Dot(byte* w, Q8Row a, int n)
    {
        var acc = Vector256<float>.Zero;
        var mins = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++)
        {
            byte* block = w + (long)b * T.BlockBytes;
            DecodePrefetch.Ahead(block, T.BlockBytes);
            Decode(block, out var k);
            Step(block, k, a, b, ref acc, ref mins);
        }
        return Vector256.Sum(acc) - Vector256.Sum(mins);
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
                DecodePrefetch.Lines(block + PrefetchRows * rowBytes, T.BlockBytes);
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

    /// <summary>
    /// Four rows × eight consecutive activation rows (the multi-sequence decode shape): each super-block's scales are
    /// decoded once per row and each chunk pair once for all eight tokens. The eight tokens' integer sums are reduced
    /// into one vector (lane t = token t) before anything turns to float, so a super-block costs one convert and one
    /// multiply-add for all eight tokens rather than per token; the offset or minimum terms come from the token quads'
    /// metadata (<paramref name="quadMeta"/>: the quad of <paramref name="first"/>, then the next, as built by
    /// <see cref="SuperBlockPanels{T}.BuildQuadMeta"/>) the same way.
    /// <paramref name="output"/>[t·<paramref name="outputStride"/> + r] receives row r against token t.
    /// </summary>
    public static void Tile4x8(byte* w, long rowBytes, Q8Row first, void* quadMeta, int n, float* output, long outputStride)
    {
        int nsb = n / 256;
        nint n1 = n, n2 = 2 * n1, n3 = 3 * n1;
        long quadDwords = SuperBlockPanels<T>.QuadMetaDwords(n);
        float* lanes = stackalloc float[8];
        var accs = stackalloc Vector256<float>[4];
        for (int r = 0; r < 4; r++) accs[r] = Vector256<float>.Zero;
        // Long rows go in spans of super-blocks, all four rows per span: eight tokens' activations of a whole long row
        // (45 KB for 5632 columns) would not stay in L1 from one row to the next; a span's (16 KB) does.
        for (int start = 0; start < nsb; start += TileSpanSuperBlocks)
        {
            int end = Math.Min(nsb, start + TileSpanSuperBlocks);
            for (int r = 0; r < 4; r++)
            {
                byte* row = w + r * rowBytes;
                var acc = accs[r];
                for (int b = start; b < end; b++)
                {
                    sbyte* qa = first.Qs + (nint)b * 256, qb = qa + 4 * n1;
                    int* meta0 = (int*)quadMeta + b * SuperBlockPanels<T>.QuadDwordsPerSuperBlock, meta1 = meta0 + quadDwords;
                    byte* block = row + (long)b * T.BlockBytes;
                    DecodePrefetch.Lines(block + PrefetchRows * rowBytes, T.BlockBytes);
                    Decode(block, out var k);
                    var biasPairs = T.HasMins ? k.Mins : k.Scales * Vector256.Create((short)T.Offset);
                    Vector256<int> sums, bias;
                    if (Avx512BW.IsSupported)
                    {
                        sums = WideSums(block, k.Scales.ToVector512Unsafe(), qa, qb, n1, n2, n3);
                        bias = WideBias(biasPairs.AsInt32().ToVector512Unsafe(), meta0 + 4, meta1 + 4);
                    }
                    else
                    {
                        sums = NarrowSums(block, k, qa, qb, n1, n2, n3);
                        bias = NarrowBias(biasPairs.AsInt32(), meta0 + 4, meta1 + 4);
                    }
                    var da = Avx.InsertVector128(Vector128.Load((float*)meta0).ToVector256Unsafe(), Vector128.Load((float*)meta1), 1);
                    if (!T.HasMins) sums -= bias;
                    acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(sums), da * Vector256.Create(k.D), acc);
                    if (T.HasMins) acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(bias), da * Vector256.Create(-k.DMin), acc);
                }
                accs[r] = acc;
            }
        }
        for (int r = 0; r < 4; r++)
        {
            accs[r].Store(lanes);
            for (int t = 0; t < 8; t++) output[t * outputStride + r] = lanes[t];
        }
    }

    /// <summary>Super-blocks per span of <see cref="Tile4x8"/>: eight tokens' activations of a span are 16 KB.</summary>
    private const int TileSpanSuperBlocks = 8;

    /// <summary>The eight tokens' integer sums over one super-block of one row (AVX-512BW), lane t = token t.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> WideSums(byte* block, Vector512<short> scales, sbyte* qa, sbyte* qb, nint n1, nint n2, nint n3)
    {
        Vector512<int> w0 = default, w1 = default, w2 = default, w3 = default, w4 = default, w5 = default, w6 = default, w7 = default;
        Pair8Wide(block, 0, scales, qa, qb, n1, n2, n3, ref w0, ref w1, ref w2, ref w3, ref w4, ref w5, ref w6, ref w7);
        Pair8Wide(block, 1, scales, qa + 64, qb + 64, n1, n2, n3, ref w0, ref w1, ref w2, ref w3, ref w4, ref w5, ref w6, ref w7);
        Pair8Wide(block, 2, scales, qa + 128, qb + 128, n1, n2, n3, ref w0, ref w1, ref w2, ref w3, ref w4, ref w5, ref w6, ref w7);
        Pair8Wide(block, 3, scales, qa + 192, qb + 192, n1, n2, n3, ref w0, ref w1, ref w2, ref w3, ref w4, ref w5, ref w6, ref w7);
        return TokenHalves(LaneFolds.Quads(w0, w1, w2, w3), LaneFolds.Quads(w4, w5, w6, w7));
    }

    /// <summary>The eight tokens' integer sums over one super-block of one row (AVX2), lane t = token t.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> NarrowSums(byte* block, in Decoded k, sbyte* qa, sbyte* qb, nint n1, nint n2, nint n3)
    {
        Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
        Pair8(block, 0, ChunkScales(k.Low, k.High, 0), ChunkScales(k.Low, k.High, 1), qa, qb, n1, n2, n3, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
        Pair8(block, 1, ChunkScales(k.Low, k.High, 2), ChunkScales(k.Low, k.High, 3), qa + 64, qb + 64, n1, n2, n3, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
        Pair8(block, 2, ChunkScales(k.Low, k.High, 4), ChunkScales(k.Low, k.High, 5), qa + 128, qb + 128, n1, n2, n3, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
        Pair8(block, 3, ChunkScales(k.Low, k.High, 6), ChunkScales(k.Low, k.High, 7), qa + 192, qb + 192, n1, n2, n3, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
        return TokenHalves(LaneFolds.Quads(s0, s1, s2, s3), LaneFolds.Quads(s4, s5, s6, s7));
    }

    /// <summary>
    /// Σ over pairs of 16-groups of (bias pair · the token's two 16-sums) for eight tokens (AVX-512): each 64-byte load
    /// of a quad's metadata holds four pairs × four tokens, met by the four pairs' bias dwords spread over 128-bit lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> WideBias(Vector512<int> pairs, int* sums0, int* sums1)
    {
        var low = Avx512F.PermuteVar16x32(pairs, Vector512.Create(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3)).AsInt16();
        var high = Avx512F.PermuteVar16x32(pairs, Vector512.Create(4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7)).AsInt16();
        var quad0 = Avx512BW.MultiplyAddAdjacent(Vector512.Load((short*)sums0), low) + Avx512BW.MultiplyAddAdjacent(Vector512.Load((short*)(sums0 + 16)), high);
        var quad1 = Avx512BW.MultiplyAddAdjacent(Vector512.Load((short*)sums1), low) + Avx512BW.MultiplyAddAdjacent(Vector512.Load((short*)(sums1 + 16)), high);
        return TokenHalves(quad0, quad1);
    }

    /// <summary>The AVX2 form of <see cref="WideBias"/>: two pairs × four tokens per 32-byte load.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> NarrowBias(Vector256<int> pairs, int* sums0, int* sums1)
    {
        Vector256<int> quad0 = default, quad1 = default;
        for (int p = 0; p < 8; p += 2)
        {
            var spread = Avx2.PermuteVar8x32(pairs, Vector256.Create(p, p, p, p, p + 1, p + 1, p + 1, p + 1)).AsInt16();
            quad0 += Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(sums0 + 4 * p)), spread);
            quad1 += Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(sums1 + 4 * p)), spread);
        }
        return TokenHalves(quad0, quad1);
    }

    /// <summary>Sums the four 128-bit lanes of each operand: tokens 0…3 from <paramref name="a"/>, 4…7 from <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> TokenHalves(Vector512<int> a, Vector512<int> b)
    {
        // [a0+a1, a2+a3, b0+b1, b2+b3], then lanes 0+1 and 2+3 of that.
        var z = Avx512F.Shuffle4x128(a, b, 0x88) + Avx512F.Shuffle4x128(a, b, 0xDD);
        return (Avx512F.Shuffle4x128(z, z, 0x08) + Avx512F.Shuffle4x128(z, z, 0x0D)).GetLower();
    }

    /// <summary>Sums the two 128-bit lanes of each operand: tokens 0…3 from <paramref name="a"/>, 4…7 from <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> TokenHalves(Vector256<int> a, Vector256<int> b) =>
        Avx2.Permute2x128(a, b, 0x20) + Avx2.Permute2x128(a, b, 0x31);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pair8(byte* block, int pair, Vector256<short> firstScales, Vector256<short> secondScales, sbyte* qa, sbyte* qb, nint n1, nint n2, nint n3,
        ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3,
        ref Vector256<int> s4, ref Vector256<int> s5, ref Vector256<int> s6, ref Vector256<int> s7)
    {
        T.Values(block, pair, out var u0, out var u1);
        s0 = Accumulate(Accumulate(s0, u0, qa, firstScales), u1, qa + 32, secondScales);
        s1 = Accumulate(Accumulate(s1, u0, qa + n1, firstScales), u1, qa + n1 + 32, secondScales);
        s2 = Accumulate(Accumulate(s2, u0, qa + n2, firstScales), u1, qa + n2 + 32, secondScales);
        s3 = Accumulate(Accumulate(s3, u0, qa + n3, firstScales), u1, qa + n3 + 32, secondScales);
        s4 = Accumulate(Accumulate(s4, u0, qb, firstScales), u1, qb + 32, secondScales);
        s5 = Accumulate(Accumulate(s5, u0, qb + n1, firstScales), u1, qb + n1 + 32, secondScales);
        s6 = Accumulate(Accumulate(s6, u0, qb + n2, firstScales), u1, qb + n2 + 32, secondScales);
        s7 = Accumulate(Accumulate(s7, u0, qb + n3, firstScales), u1, qb + n3 + 32, secondScales);
    }

    /// <summary>
    /// AVX-512BW form of <see cref="Pair8"/>: a chunk pair is one 64-byte vector, so each token costs one
    /// <c>vpmaddubsw</c>, one <c>vpmaddwd</c> with the four groups' scales and one add per 64 elements.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pair8Wide(byte* block, int pair, Vector512<short> scales16, sbyte* qa, sbyte* qb, nint n1, nint n2, nint n3,
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
        s0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(qa)), scales);
        s1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(qa + n1)), scales);
        s2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(qa + n2)), scales);
        s3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(qa + n3)), scales);
        s4 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(qb)), scales);
        s5 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(qb + n1)), scales);
        s6 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(qb + n2)), scales);
        s7 += Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load(qb + n3)), scales);
    }
}
