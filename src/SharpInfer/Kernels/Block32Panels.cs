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

    /// <summary>Floats of per-token scratch <see cref="Multiply"/> needs for rows of <paramref name="columns"/> elements.</summary>
    public static long TokenScratchFloats(int columns) => (long)columns / 32 * 8;

    /// <summary>
    /// Decodes rows <paramref name="w"/> … +7 (<paramref name="rowBytes"/> apart) into <paramref name="panel"/>:
    /// values [block][k][row][4 bytes], then the rows' scales [block][row], then their minimums [block][row].
    /// </summary>
    public static void Pack(byte* w, long rowBytes, int n, byte* panel)
    {
        int nb = n / 32, bb = T.BlockBytes;
        float* scales = (float*)(panel + (long)n * Rows);
        float* mins = scales + nb * Rows;
        for (int b = 0; b < nb; b++)
        {
            byte* blk = w + (long)b * bb;
            var r0 = T.Unpack(blk).AsInt32();
            var r1 = T.Unpack(blk + rowBytes).AsInt32();
            var r2 = T.Unpack(blk + 2 * rowBytes).AsInt32();
            var r3 = T.Unpack(blk + 3 * rowBytes).AsInt32();
            var r4 = T.Unpack(blk + 4 * rowBytes).AsInt32();
            var r5 = T.Unpack(blk + 5 * rowBytes).AsInt32();
            var r6 = T.Unpack(blk + 6 * rowBytes).AsInt32();
            var r7 = T.Unpack(blk + 7 * rowBytes).AsInt32();
            Transpose8x8(ref r0, ref r1, ref r2, ref r3, ref r4, ref r5, ref r6, ref r7);
            var dst = (int*)(panel + (long)b * 256);
            r0.Store(dst);
            r1.Store(dst + 8);
            r2.Store(dst + 16);
            r3.Store(dst + 24);
            r4.Store(dst + 32);
            r5.Store(dst + 40);
            r6.Store(dst + 48);
            r7.Store(dst + 56);
            Gather8(blk + T.ScaleOffset, rowBytes).Store(scales + b * Rows);
            if (T.MinOffset >= 0) Gather8(blk + T.MinOffset, rowBytes).Store(mins + b * Rows);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Gather8(byte* p, long stride) => HalfVector.F16ToSingle(Vector128.Create(
        *(ushort*)p, *(ushort*)(p + stride), *(ushort*)(p + 2 * stride), *(ushort*)(p + 3 * stride),
        *(ushort*)(p + 4 * stride), *(ushort*)(p + 5 * stride), *(ushort*)(p + 6 * stride), *(ushort*)(p + 7 * stride)));

    /// <summary>Transposes eight vectors of eight int32 (row i, dword k) into (dword k, row i).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref Vector256<int> r0, ref Vector256<int> r1, ref Vector256<int> r2, ref Vector256<int> r3,
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
        var u0 = Avx2.UnpackLow(t0.AsInt64(), t2.AsInt64()).AsInt32();
        var u1 = Avx2.UnpackHigh(t0.AsInt64(), t2.AsInt64()).AsInt32();
        var u2 = Avx2.UnpackLow(t1.AsInt64(), t3.AsInt64()).AsInt32();
        var u3 = Avx2.UnpackHigh(t1.AsInt64(), t3.AsInt64()).AsInt32();
        var u4 = Avx2.UnpackLow(t4.AsInt64(), t6.AsInt64()).AsInt32();
        var u5 = Avx2.UnpackHigh(t4.AsInt64(), t6.AsInt64()).AsInt32();
        var u6 = Avx2.UnpackLow(t5.AsInt64(), t7.AsInt64()).AsInt32();
        var u7 = Avx2.UnpackHigh(t5.AsInt64(), t7.AsInt64()).AsInt32();
        r0 = Avx2.Permute2x128(u0, u4, 0x20);
        r1 = Avx2.Permute2x128(u1, u5, 0x20);
        r2 = Avx2.Permute2x128(u2, u6, 0x20);
        r3 = Avx2.Permute2x128(u3, u7, 0x20);
        r4 = Avx2.Permute2x128(u0, u4, 0x31);
        r5 = Avx2.Permute2x128(u1, u5, 0x31);
        r6 = Avx2.Permute2x128(u2, u6, 0x31);
        r7 = Avx2.Permute2x128(u3, u7, 0x31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Quad(sbyte* a) => Vector256.Create(*(int*)a).AsSByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step4(byte* values, int k, sbyte* a0, sbyte* a1, sbyte* a2, sbyte* a3,
        ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3)
    {
        var u = Vector256.Load(values + 32 * k);
        s0 = AvxVnni.MultiplyWideningAndAdd(s0, u, Quad(a0 + 4 * k));
        s1 = AvxVnni.MultiplyWideningAndAdd(s1, u, Quad(a1 + 4 * k));
        s2 = AvxVnni.MultiplyWideningAndAdd(s2, u, Quad(a2 + 4 * k));
        s3 = AvxVnni.MultiplyWideningAndAdd(s3, u, Quad(a3 + 4 * k));
    }

    /// <summary>Per block, per token of a quad: the activation scale and the scaled quant sum (token-interleaved).</summary>
    private static void Gather(Q8Row a, int nb, int tokenOffset, float* da, float* ss)
    {
        for (int b = 0; b < nb; b++)
        {
            da[b * 4 + tokenOffset] = a.D[b];
            ss[b * 4 + tokenOffset] = a.SumsScaled[b];
        }
    }

    /// <summary>
    /// The packed panel against <paramref name="count"/> consecutive activation rows starting with
    /// <paramref name="first"/> (rows of <paramref name="n"/> elements, laid out as <see cref="MatMul"/> prepares them);
    /// row r of token t goes to <paramref name="output"/>[t·<paramref name="outputStride"/> + r].
    /// <paramref name="tokenScratch"/> holds 8·n/32 floats.
    /// </summary>
    public static void Multiply(byte* panel, int n, Q8Row first, int count, float* output, long outputStride, float* tokenScratch)
    {
        int nb = n / 32;
        float* scales = (float*)(panel + (long)n * Rows);
        float* mins = scales + nb * Rows;
        float* da = tokenScratch;
        float* ss = tokenScratch + nb * 4;
        // Offsets fold into the float step: d·d_a·(Σ U·q − offset·Σq) = d·(d_a·Σ U·q − offset·ScaledSum).
        float offset = -T.Offset;
        for (int t = 0; t < count; t += 4)
        {
            int quad = Math.Min(4, count - t);
            // A short last quad repeats its final token; those results are not stored.
            for (int i = 0; i < 4; i++) Gather(MatMul.Offset32(first, t + Math.Min(i, quad - 1), n), nb, i, da, ss);
            sbyte* q0 = first.Qs + (long)t * n;
            sbyte* q1 = first.Qs + (long)(t + Math.Min(1, quad - 1)) * n;
            sbyte* q2 = first.Qs + (long)(t + Math.Min(2, quad - 1)) * n;
            sbyte* q3 = first.Qs + (long)(t + Math.Min(3, quad - 1)) * n;
            Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
            for (int b = 0; b < nb; b++)
            {
                byte* values = panel + (long)b * 256;
                sbyte* a0 = q0 + b * 32, a1 = q1 + b * 32, a2 = q2 + b * 32, a3 = q3 + b * 32;
                // Two accumulators per token (even and odd quads) so eight independent vpdpbusd chains hide its latency.
                var u = Vector256.Load(values);
                var s0 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, Quad(a0));
                var s1 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, Quad(a1));
                var s2 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, Quad(a2));
                var s3 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, Quad(a3));
                u = Vector256.Load(values + 32);
                var e0 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, Quad(a0 + 4));
                var e1 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, Quad(a1 + 4));
                var e2 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, Quad(a2 + 4));
                var e3 = AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, Quad(a3 + 4));
                Step4(values, 2, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                Step4(values, 3, a0, a1, a2, a3, ref e0, ref e1, ref e2, ref e3);
                Step4(values, 4, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                Step4(values, 5, a0, a1, a2, a3, ref e0, ref e1, ref e2, ref e3);
                Step4(values, 6, a0, a1, a2, a3, ref s0, ref s1, ref s2, ref s3);
                Step4(values, 7, a0, a1, a2, a3, ref e0, ref e1, ref e2, ref e3);
                s0 += e0;
                s1 += e1;
                s2 += e2;
                s3 += e3;
                var scale = Vector256.Load(scales + b * Rows);
                float* dab = da + b * 4, ssb = ss + b * 4;
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
            f0.Store(output + t * outputStride);
            if (quad > 1) f1.Store(output + (t + 1) * outputStride);
            if (quad > 2) f2.Store(output + (t + 2) * outputStride);
            if (quad > 3) f3.Store(output + (t + 3) * outputStride);
        }
    }
}
