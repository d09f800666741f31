using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Prefill kernel for 32-element block formats (AVX-VNNI): eight weight rows are decoded once into a small panel in
/// L1 — unsigned values transposed so that one 32-byte load holds four consecutive elements of all eight rows — and
/// then meet many tokens. Each <c>vpdpbusd</c> with a broadcast of four activation bytes yields four products for each
/// of the eight rows, so a block needs eight integer instructions per token and only one float multiply-add (lanes
/// are rows, so the rows' block scales apply as one vector). Offsets come off in integers through the activations'
/// block sums, minimums through the scaled sums. Weights stay where they are mapped; only the panel is written.
/// </summary>
[SkipLocalsInit]
internal static unsafe class Block32Panels<T> where T : struct, IBlock32
{
    /// <summary>Rows per panel (lanes of a 256-bit vector of int32).</summary>
    public const int Rows = 8;

    /// <summary>Bytes of panel scratch for rows of <paramref name="columns"/> elements (values, scales, minimums).</summary>
    public static long ScratchBytes(int columns) => (long)columns * Rows + (long)columns / 32 * Rows * sizeof(float) * 2;


    /// <summary>
    /// Decodes rows <paramref name="w"/> … +7 (<paramref name="rowBytes"/> apart) into <paramref name="panel"/>:
    /// values [block][k][row][4 bytes], then the rows' scales [block][row], then their minimums [block][row].
    /// </summary>
    public static void Pack(byte* w, long rowBytes, int n, byte* panel)
    {
        int nb = n / 32, bb = T.BlockBytes;
        float* scales = (float*)(panel + (long)n * Rows);
        float* mins = scales + nb * Rows;
        long ahead = Rows * rowBytes;
        for (int b = 0; b < nb; b++)
        {
            byte* blk = w + (long)b * bb;
            if ((b & 1) == 0)
            {
                // The next panel's rows stream in while this one is decoded (two blocks are at most 48 bytes).
                for (int r = 0; r < Rows; r++) Sse.Prefetch0(blk + ahead + r * rowBytes);
            }
            if (T.NibblePacked) PackNibbles(blk + T.ValuesOffset, rowBytes, panel + (long)b * 256);
            else PackGeneric(blk, rowBytes, panel + (long)b * 256);
            Gather8(blk + T.ScaleOffset, rowBytes).Store(scales + b * Rows);
            if (T.MinOffset >= 0) Gather8(blk + T.MinOffset, rowBytes).Store(mins + b * Rows);
        }
    }

    /// <summary>Any format: unpack eight rows' blocks, transpose their dwords.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackGeneric(byte* blk, long rowBytes, byte* panel)
    {
        UnpackRows8(blk, rowBytes, out var r0, out var r1, out var r2, out var r3, out var r4, out var r5, out var r6, out var r7);
        PanelTranspose.StoreTransposed((int*)panel, r0, r1, r2, r3, r4, r5, r6, r7);
    }

    /// <summary>The unsigned values of one block in each of eight rows (<paramref name="rowBytes"/> apart), row i in r<i>i</i>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void UnpackRows8(byte* blk, long rowBytes, out Vector256<int> r0, out Vector256<int> r1, out Vector256<int> r2,
        out Vector256<int> r3, out Vector256<int> r4, out Vector256<int> r5, out Vector256<int> r6, out Vector256<int> r7)
    {
        r0 = T.Unpack(blk).AsInt32();
        r1 = T.Unpack(blk + rowBytes).AsInt32();
        r2 = T.Unpack(blk + 2 * rowBytes).AsInt32();
        r3 = T.Unpack(blk + 3 * rowBytes).AsInt32();
        r4 = T.Unpack(blk + 4 * rowBytes).AsInt32();
        r5 = T.Unpack(blk + 5 * rowBytes).AsInt32();
        r6 = T.Unpack(blk + 6 * rowBytes).AsInt32();
        r7 = T.Unpack(blk + 7 * rowBytes).AsInt32();
    }

    /// <summary>
    /// Sixteen packed nibble bytes per row: transposing the raw bytes' dwords first (rows 0–3 in the low lane, 4–7 in
    /// the high) gives quads 0–3 as low nibbles and quads 4–7 as high nibbles, half the work of unpacking first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackNibbles(byte* qs, long rowBytes, byte* panel)
    {
        var x0 = Avx2.InsertVector128(Vector128.Load(qs).ToVector256Unsafe(), Vector128.Load(qs + 4 * rowBytes), 1).AsInt32();
        var x1 = Avx2.InsertVector128(Vector128.Load(qs + rowBytes).ToVector256Unsafe(), Vector128.Load(qs + 5 * rowBytes), 1).AsInt32();
        var x2 = Avx2.InsertVector128(Vector128.Load(qs + 2 * rowBytes).ToVector256Unsafe(), Vector128.Load(qs + 6 * rowBytes), 1).AsInt32();
        var x3 = Avx2.InsertVector128(Vector128.Load(qs + 3 * rowBytes).ToVector256Unsafe(), Vector128.Load(qs + 7 * rowBytes), 1).AsInt32();
        var t0 = Avx2.UnpackLow(x0, x1);
        var t1 = Avx2.UnpackHigh(x0, x1);
        var t2 = Avx2.UnpackLow(x2, x3);
        var t3 = Avx2.UnpackHigh(x2, x3);
        var k0 = Avx2.UnpackLow(t0.AsInt64(), t2.AsInt64()).AsByte();
        var k1 = Avx2.UnpackHigh(t0.AsInt64(), t2.AsInt64()).AsByte();
        var k2 = Avx2.UnpackLow(t1.AsInt64(), t3.AsInt64()).AsByte();
        var k3 = Avx2.UnpackHigh(t1.AsInt64(), t3.AsInt64()).AsByte();
        var mask = Vector256.Create((byte)0x0F);
        T.Map(k0 & mask).Store(panel);
        T.Map(k1 & mask).Store(panel + 32);
        T.Map(k2 & mask).Store(panel + 64);
        T.Map(k3 & mask).Store(panel + 96);
        T.Map(Vector256.ShiftRightLogical(k0.AsUInt16(), 4).AsByte() & mask).Store(panel + 128);
        T.Map(Vector256.ShiftRightLogical(k1.AsUInt16(), 4).AsByte() & mask).Store(panel + 160);
        T.Map(Vector256.ShiftRightLogical(k2.AsUInt16(), 4).AsByte() & mask).Store(panel + 192);
        T.Map(Vector256.ShiftRightLogical(k3.AsUInt16(), 4).AsByte() & mask).Store(panel + 224);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Gather8(byte* p, long stride) => HalfVector.F16ToSingle(Vector128.Create(
        *(ushort*)p, *(ushort*)(p + stride), *(ushort*)(p + 2 * stride), *(ushort*)(p + 3 * stride),
        *(ushort*)(p + 4 * stride), *(ushort*)(p + 5 * stride), *(ushort*)(p + 6 * stride), *(ushort*)(p + 7 * stride)));

    /// <summary>Floats of quad metadata per token quad for rows of <paramref name="columns"/> elements.</summary>
    public static long QuadMetaFloats(int columns) => (long)columns / 32 * 8;

    /// <summary>
    /// Interleaves, for token quad <paramref name="quad"/> of the <paramref name="tokens"/> rows from
    /// <paramref name="first"/>, each block's four activation scales and four scaled sums: [block][d0..d3, s0..s3].
    /// A short last quad repeats its final token. Built once per matrix input, it serves every panel.
    /// </summary>
    public static void BuildQuadMeta(Q8Row first, int n, int tokens, int quad, float* meta)
    {
        int nb = n / 32;
        for (int i = 0; i < 4; i++)
        {
            var a = MatMul.Offset32(first, Math.Min(4 * quad + i, tokens - 1), n);
            for (int b = 0; b < nb; b++)
            {
                meta[b * 8 + i] = a.D[b];
                meta[b * 8 + 4 + i] = a.SumsScaled[b];
            }
        }
    }

    /// <summary>
    /// The packed panel against <paramref name="count"/> consecutive activation rows whose quants start at
    /// <paramref name="qs"/> (<paramref name="n"/> apart) and whose quad metadata (<see cref="BuildQuadMeta"/>) starts at
    /// <paramref name="quadMeta"/>; row r of token t goes to <paramref name="output"/>[t·<paramref name="outputStride"/> + r].
    /// </summary>
    public static void Multiply(byte* panel, int n, sbyte* qs, void* quadMeta, int count, float* output, long outputStride)
    {
        float* meta = (float*)quadMeta;
        int nb = n / 32;
        float* scales = (float*)(panel + (long)n * Rows);
        float* mins = scales + nb * Rows;
        // Offsets fold into the float step: d·d_a·(Σ U·q − offset·Σq) = d·(d_a·Σ U·q − offset·ScaledSum).
        float offset = -T.Offset;
        for (int t = 0; t < count; t += 4, meta += QuadMetaFloats(n))
        {
            int quad = PanelSteps.QuadRows(qs, t, count, n, out var q0, out var q1, out var q2, out var q3);
            Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
            for (int b = 0; b < nb; b++)
            {
                byte* values = panel + (long)b * 256;
                sbyte* a0 = q0 + b * 32, a1 = q1 + b * 32, a2 = q2 + b * 32, a3 = q3 + b * 32;
                // Two accumulators per token (even and odd quads) so eight independent vpdpbusd chains hide its latency.
                Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, e0 = default, e1 = default, e2 = default, e3 = default;
                PanelSteps.Step4(values, 0, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                PanelSteps.Step4(values, 1, a0, a1, a2, a3, ref e0, ref e1, ref e2, ref e3);
                PanelSteps.Step4(values, 2, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                PanelSteps.Step4(values, 3, a0, a1, a2, a3, ref e0, ref e1, ref e2, ref e3);
                PanelSteps.Step4(values, 4, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                PanelSteps.Step4(values, 5, a0, a1, a2, a3, ref e0, ref e1, ref e2, ref e3);
                PanelSteps.Step4(values, 6, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                PanelSteps.Step4(values, 7, a0, a1, a2, a3, ref e0, ref e1, ref e2, ref e3);
                s0 += e0;
                s1 += e1;
                s2 += e2;
                s3 += e3;
                var scale = Vector256.Load(scales + b * Rows);
                float* dab = meta + b * 8, ssb = dab + 4;
                if (T.MinOffset >= 0)
                {
                    var m = Vector256.Load(mins + b * Rows);
                    f0 = Vector256.FusedMultiplyAdd(m, Vector256.Create(ssb[0]), Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s0) * Vector256.Create(dab[0]), scale, f0));
                    f1 = Vector256.FusedMultiplyAdd(m, Vector256.Create(ssb[1]), Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s1) * Vector256.Create(dab[1]), scale, f1));
                    f2 = Vector256.FusedMultiplyAdd(m, Vector256.Create(ssb[2]), Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s2) * Vector256.Create(dab[2]), scale, f2));
                    f3 = Vector256.FusedMultiplyAdd(m, Vector256.Create(ssb[3]), Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s3) * Vector256.Create(dab[3]), scale, f3));
                }
                else
                {
                    f0 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s0), Vector256.Create(dab[0]), Vector256.Create(offset * ssb[0])), scale, f0);
                    f1 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s1), Vector256.Create(dab[1]), Vector256.Create(offset * ssb[1])), scale, f1);
                    f2 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s2), Vector256.Create(dab[2]), Vector256.Create(offset * ssb[2])), scale, f2);
                    f3 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(s3), Vector256.Create(dab[3]), Vector256.Create(offset * ssb[3])), scale, f3);
                }
            }
            PanelSteps.StoreQuad(output, outputStride, t, quad, f0, f1, f2, f3);
        }
    }
}
