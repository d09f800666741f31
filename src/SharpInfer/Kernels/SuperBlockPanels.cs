using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Prefill and multi-sequence decode kernel for K-quant formats (AVX-VNNI), the super-block counterpart of
/// <see cref="Block32Panels{T}"/>: eight rows are decoded once into a panel (values transposed so a 32-byte load holds
/// four elements of all eight rows; integer group scales, bias pairs and d/dmin as eight-lane vectors), then each token
/// costs, per group, a few <c>vpdpbusd</c> with broadcast activations and one <c>vpmulld</c> by the rows' group scales,
/// all in exact 32-bit integers. Offsets (Q3_K, Q6_K) and minimums (Q2_K, Q4_K, Q5_K) come off through
/// <c>vpmaddwd</c> of the rows' bias pairs with the token's 16-element sums; one float multiply-add per super-block
/// applies d·d_a (and dmin·d_a).
/// </summary>
[SkipLocalsInit]
internal static unsafe class SuperBlockPanels<T> where T : struct, ISuperBlock
{
    /// <summary>Rows per panel.</summary>
    public const int Rows = 8;

    private const int ValuesBytes = 2048;
    private const int ScalesBytes = 16 * Rows * sizeof(int);
    private const int BiasBytes = 8 * Rows * sizeof(int);

    /// <summary>Bytes of one super-block in a panel: values, group scales, bias pairs, d, dmin.</summary>
    public const int SuperBytes = ValuesBytes + ScalesBytes + BiasBytes + 2 * Rows * sizeof(float);

    /// <summary>Bytes of panel scratch for rows of <paramref name="columns"/> elements.</summary>
    public static long ScratchBytes(int columns) => (long)columns / 256 * SuperBytes;

    /// <summary>Dwords of quad metadata per super-block: four d_a, then 8 pairs × 4 tokens of 16-sums.</summary>
    public const int QuadDwordsPerSuperBlock = 36;

    /// <summary>Floats (dwords) of quad metadata per token quad (<see cref="QuadDwordsPerSuperBlock"/> per super-block).</summary>
    public static long QuadMetaDwords(int columns) => (long)columns / 256 * QuadDwordsPerSuperBlock;

    /// <summary>
    /// For token quad <paramref name="quad"/> of the <paramref name="tokens"/> rows from <paramref name="first"/>
    /// (256-element layout): per super-block the four activation scales, then for each pair of 16-element groups the
    /// four tokens' two sums as one dword (ready to broadcast into <c>vpmaddwd</c>).
    /// </summary>
    public static void BuildQuadMeta(Q8Row first, int n, int tokens, int quad, int* meta)
    {
        int nsb = n / 256;
        for (int i = 0; i < 4; i++)
        {
            var a = MatMul.Offset256(first, Math.Min(4 * quad + i, tokens - 1), n);
            for (int b = 0; b < nsb; b++)
            {
                int* m = meta + b * QuadDwordsPerSuperBlock;
                ((float*)m)[i] = a.D[b];
                for (int p = 0; p < 8; p++) m[4 + p * 4 + i] = ((int*)(a.BSums + b * 16))[p];
            }
        }
    }

    /// <summary>Decodes rows <paramref name="w"/> … +7 (<paramref name="rowBytes"/> apart) into <paramref name="panel"/>.</summary>
    public static void Pack(byte* w, long rowBytes, int n, byte* panel)
    {
        int nsb = n / 256;
        long ahead = Rows * rowBytes;
        for (int b = 0; b < nsb; b++)
        {
            byte* blk = w + (long)b * T.BlockBytes;
            byte* dst = panel + (long)b * SuperBytes;
            float* dd = (float*)(dst + ValuesBytes + ScalesBytes + BiasBytes);
            for (int r = 0; r < Rows; r++)
            {
                byte* rowBlock = blk + r * rowBytes;
                // The next panel's rows stream in while this one is decoded.
                for (int line = 0; line < T.BlockBytes; line += 64) Sse.Prefetch0(rowBlock + ahead + line);
                dd[r] = T.D(rowBlock);
                dd[Rows + r] = T.HasMins ? T.DMin(rowBlock) : 0;
            }
            PackScales(blk, rowBytes, (int*)(dst + ValuesBytes), (int*)(dst + ValuesBytes + ScalesBytes));
            for (int pair = 0; pair < 4; pair++) PackPair(blk, rowBytes, pair, dst + pair * 512);
        }
    }

    /// <summary>
    /// The eight rows' 16 group scales as int32 lanes per group, and their bias pairs (minimums, or offset × scale) as
    /// two shorts per lane per pair of groups: both are transposes of the rows' 16-short vectors.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackScales(byte* blk, long rowBytes, int* groupScales, int* bias)
    {
        T.Scales(blk, out var s0, out var m0);
        T.Scales(blk + rowBytes, out var s1, out var m1);
        T.Scales(blk + 2 * rowBytes, out var s2, out var m2);
        T.Scales(blk + 3 * rowBytes, out var s3, out var m3);
        T.Scales(blk + 4 * rowBytes, out var s4, out var m4);
        T.Scales(blk + 5 * rowBytes, out var s5, out var m5);
        T.Scales(blk + 6 * rowBytes, out var s6, out var m6);
        T.Scales(blk + 7 * rowBytes, out var s7, out var m7);
        if (!T.HasMins)
        {
            var offset = Vector256.Create((short)T.Offset);
            m0 = s0 * offset; m1 = s1 * offset; m2 = s2 * offset; m3 = s3 * offset;
            m4 = s4 * offset; m5 = s5 * offset; m6 = s6 * offset; m7 = s7 * offset;
        }
        // Bias pairs: dword p of each row's 16 shorts is groups 2p and 2p+1 — an 8×8 dword transpose.
        var b0 = m0.AsInt32(); var b1 = m1.AsInt32(); var b2 = m2.AsInt32(); var b3 = m3.AsInt32();
        var b4 = m4.AsInt32(); var b5 = m5.AsInt32(); var b6 = m6.AsInt32(); var b7 = m7.AsInt32();
        PanelTranspose.StoreTransposed(bias, b0, b1, b2, b3, b4, b5, b6, b7);
        if (T.GroupSize == 32)
        {
            // Groups of 32 carry their scale twice in the 16-group vector: the even entries, widened, are the eight scales.
            var e0 = Even(s0); var e1 = Even(s1); var e2 = Even(s2); var e3 = Even(s3);
            var e4 = Even(s4); var e5 = Even(s5); var e6 = Even(s6); var e7 = Even(s7);
            PanelTranspose.StoreTransposed(groupScales, e0, e1, e2, e3, e4, e5, e6, e7);
            return;
        }
        var l0 = Avx2.ConvertToVector256Int32(s0.GetLower()); var l1 = Avx2.ConvertToVector256Int32(s1.GetLower());
        var l2 = Avx2.ConvertToVector256Int32(s2.GetLower()); var l3 = Avx2.ConvertToVector256Int32(s3.GetLower());
        var l4 = Avx2.ConvertToVector256Int32(s4.GetLower()); var l5 = Avx2.ConvertToVector256Int32(s5.GetLower());
        var l6 = Avx2.ConvertToVector256Int32(s6.GetLower()); var l7 = Avx2.ConvertToVector256Int32(s7.GetLower());
        PanelTranspose.StoreTransposed(groupScales, l0, l1, l2, l3, l4, l5, l6, l7);
        var h0 = Avx2.ConvertToVector256Int32(s0.GetUpper()); var h1 = Avx2.ConvertToVector256Int32(s1.GetUpper());
        var h2 = Avx2.ConvertToVector256Int32(s2.GetUpper()); var h3 = Avx2.ConvertToVector256Int32(s3.GetUpper());
        var h4 = Avx2.ConvertToVector256Int32(s4.GetUpper()); var h5 = Avx2.ConvertToVector256Int32(s5.GetUpper());
        var h6 = Avx2.ConvertToVector256Int32(s6.GetUpper()); var h7 = Avx2.ConvertToVector256Int32(s7.GetUpper());
        PanelTranspose.StoreTransposed(groupScales + 64, h0, h1, h2, h3, h4, h5, h6, h7);
    }

    /// <summary>Shorts 0, 2, 4, … 14 sign-extended to eight ints.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Even(Vector256<short> v) =>
        Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(v.AsInt32(), 16), 16);

    /// <summary>Chunks 2·pair and 2·pair+1 of eight rows, transposed into sixteen quad vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackPair(byte* blk, long rowBytes, int pair, byte* dst)
    {
        T.Values(blk, pair, out var a0, out var b0);
        T.Values(blk + rowBytes, pair, out var a1, out var b1);
        T.Values(blk + 2 * rowBytes, pair, out var a2, out var b2);
        T.Values(blk + 3 * rowBytes, pair, out var a3, out var b3);
        T.Values(blk + 4 * rowBytes, pair, out var a4, out var b4);
        T.Values(blk + 5 * rowBytes, pair, out var a5, out var b5);
        T.Values(blk + 6 * rowBytes, pair, out var a6, out var b6);
        T.Values(blk + 7 * rowBytes, pair, out var a7, out var b7);
        PanelTranspose.StoreTransposed((int*)dst, a0.AsInt32(), a1.AsInt32(), a2.AsInt32(), a3.AsInt32(), a4.AsInt32(), a5.AsInt32(), a6.AsInt32(), a7.AsInt32());
        PanelTranspose.StoreTransposed((int*)(dst + 256), b0.AsInt32(), b1.AsInt32(), b2.AsInt32(), b3.AsInt32(), b4.AsInt32(), b5.AsInt32(), b6.AsInt32(), b7.AsInt32());
    }

    /// <summary>One group of 16 (four quads) for four tokens, added to the group sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Group16(byte* values, int quad, sbyte* a0, sbyte* a1, sbyte* a2, sbyte* a3,
        ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3)
    {
        for (int k = quad; k < quad + 4; k++) PanelSteps.Step4(values, k, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
    }

    /// <summary>
    /// The packed panel against <paramref name="count"/> consecutive activation rows (256-element layout) whose quants
    /// start at <paramref name="qs"/> (<paramref name="n"/> apart) and whose quad metadata starts at
    /// <paramref name="quadMeta"/>; row r of token t goes to <paramref name="output"/>[t·<paramref name="outputStride"/> + r].
    /// </summary>
    public static void Multiply(byte* panel, int n, sbyte* qs, void* quadMeta, int count, float* output, long outputStride)
    {
        int* meta = (int*)quadMeta;
        int nsb = n / 256;
        for (int t = 0; t < count; t += 4, meta += QuadMetaDwords(n))
        {
            int quad = PanelSteps.QuadRows(qs, t, count, n, out var q0, out var q1, out var q2, out var q3);
            Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
            for (int b = 0; b < nsb; b++)
            {
                byte* sb = panel + (long)b * SuperBytes;
                int* groupScales = (int*)(sb + ValuesBytes);
                int* bias = (int*)(sb + ValuesBytes + ScalesBytes);
                float* dd = (float*)(sb + ValuesBytes + ScalesBytes + BiasBytes);
                int* m = meta + b * QuadDwordsPerSuperBlock;
                sbyte* a0 = q0 + b * 256, a1 = q1 + b * 256, a2 = q2 + b * 256, a3 = q3 + b * 256;
                Vector256<int> m0 = default, m1 = default, m2 = default, m3 = default;
                for (int g = 0; g < 256 / T.GroupSize; g++)
                {
                    Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
                    int quads = T.GroupSize / 4;
                    Group16(sb, g * quads, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                    if (T.GroupSize == 32) Group16(sb, g * quads + 4, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                    var scale = Vector256.Load(groupScales + g * Rows);
                    m0 += Avx2.MultiplyLow(s0, scale);
                    m1 += Avx2.MultiplyLow(s1, scale);
                    m2 += Avx2.MultiplyLow(s2, scale);
                    m3 += Avx2.MultiplyLow(s3, scale);
                }
                Vector256<int> c0 = default, c1 = default, c2 = default, c3 = default;
                for (int p = 0; p < 8; p++)
                {
                    var pairs = Vector256.Load(bias + p * Rows).AsInt16();
                    int* sums = m + 4 + p * 4;
                    c0 += Avx2.MultiplyAddAdjacent(pairs, Vector256.Create(sums[0]).AsInt16());
                    c1 += Avx2.MultiplyAddAdjacent(pairs, Vector256.Create(sums[1]).AsInt16());
                    c2 += Avx2.MultiplyAddAdjacent(pairs, Vector256.Create(sums[2]).AsInt16());
                    c3 += Avx2.MultiplyAddAdjacent(pairs, Vector256.Create(sums[3]).AsInt16());
                }
                var d = Vector256.Load(dd);
                float* da = (float*)m;
                if (T.HasMins)
                {
                    var dmin = Vector256.Load(dd + Rows);
                    f0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(m0), d * Vector256.Create(da[0]), f0) - Vector256.ConvertToSingle(c0) * (dmin * Vector256.Create(da[0]));
                    f1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(m1), d * Vector256.Create(da[1]), f1) - Vector256.ConvertToSingle(c1) * (dmin * Vector256.Create(da[1]));
                    f2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(m2), d * Vector256.Create(da[2]), f2) - Vector256.ConvertToSingle(c2) * (dmin * Vector256.Create(da[2]));
                    f3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(m3), d * Vector256.Create(da[3]), f3) - Vector256.ConvertToSingle(c3) * (dmin * Vector256.Create(da[3]));
                }
                else
                {
                    f0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(m0 - c0), d * Vector256.Create(da[0]), f0);
                    f1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(m1 - c1), d * Vector256.Create(da[1]), f1);
                    f2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(m2 - c2), d * Vector256.Create(da[2]), f2);
                    f3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(m3 - c3), d * Vector256.Create(da[3]), f3);
                }
            }
            PanelSteps.StoreQuad(output, outputStride, t, quad, f0, f1, f2, f3);
        }
    }
}
