using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Sixteen weight rows × eight tokens for the 4-bit nibble formats (Q4_0, Q4_1) with AVX-512BW, the shape of
/// <c>--parallel 8</c> decode. Each block of the sixteen rows is transposed in registers (one 512-bit vector holds
/// four consecutive elements of all sixteen rows) and meets all eight tokens before the next block is read, so
/// nothing is packed to memory. The products are 512-bit <c>vpmaddubsw</c> (64 multiplies each, where .NET exposes
/// <c>vpdpbusd</c> only at 256 bits): values of at most 15 against activations of at most 127 in magnitude keep each
/// pair sum ≤ 3810, so the eight element quads of a block add up in 16-bit lanes (≤ 30480) and one
/// <c>vpmaddwd</c> per block and token widens them. Lanes are rows, so the rows' block scales apply as one vector.
/// Batches of up to two or four tokens run the smaller forms (<see cref="ITileBatch"/>).
/// </summary>
[SkipLocalsInit]
internal unsafe struct NibbleTile16x8<T> : ITilePass where T : struct, IBlock32
{
    /// <summary>Whether this CPU and format have the tile: AVX-512BW, and values that are packed nibbles of at most 15.</summary>
    public static bool IsSupported => Avx512BW.IsSupported && T.NibblePacked && T.MaxValue <= 15;

    /// <summary>
    /// Rows <paramref name="w"/> … +15 (<paramref name="rowBytes"/> apart) × the <paramref name="count"/> (1–8) activation
    /// rows from <paramref name="first"/>, whose token quads' metadata (<see cref="Block32Panels{T}.BuildQuadMeta"/>)
    /// starts at <paramref name="quadMeta"/>; row r of token t goes to
    /// <paramref name="output"/>[t·<paramref name="outputStride"/> + r]. A short batch repeats its last token (as the
    /// metadata of a short quad does) and stores only its own results.
    /// </summary>
    public static void Multiply(byte* w, long rowBytes, Q8Row first, void* quadMeta, int n, int count, float* output, long outputStride)
        => TileForms<NibbleTile16x8<T>>.Multiply(w, rowBytes, first, quadMeta, n, count, output, outputStride);

    /// <summary><see cref="Multiply"/> in the two-, four- or eight-token form (see <see cref="ITileBatch"/>).</summary>
    static void ITilePass.Run<TBatch>(byte* w, long rowBytes, Q8Row first, void* quadMeta, int n, int count, float* output, long outputStride)
    {
        int nb = n / 32, bb = T.BlockBytes;
        TileTokens.Rows(first.Qs, n, count, out var a0, out var a1, out var a2, out var a3, out var a4, out var a5, out var a6, out var a7);
        // Without a second quad its tokens repeat the first quad's; their results are not stored.
        float* meta0 = (float*)quadMeta, meta1 = count > 4 ? meta0 + Block32Panels<T>.QuadMetaFloats(n) : meta0;
        var nibble = Vector512.Create((byte)0x0F);
        var ones = Vector512.Create((short)1);
        var offset = Vector512.Create((float)-T.Offset);
        Vector512<float> f0 = default, f1 = default, f2 = default, f3 = default, f4 = default, f5 = default, f6 = default, f7 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* blk = w + (long)b * bb;
            // Three blocks (at most 60 bytes) per prefetch round: one line per row, into L2: measured 1–3 % faster
            // from memory than into L1.
            if (b % 3 == 0) Rows16.PrefetchNextTile(blk, rowBytes, 3 * bb, intoL2: true);
            // Low nibbles of dword j are element quad j, high nibbles quad j + 4.
            Rows16.Load(blk + T.ValuesOffset, rowBytes, out var k0, out var k1, out var k2, out var k3);
            int e = b * 32;
            var u = k0 & nibble;
            Rows16.First<TBatch>(u, e, a0, a1, a2, a3, a4, a5, a6, a7, out var s0, out var s1, out var s2, out var s3, out var s4, out var s5, out var s6, out var s7);
            Rows16.Step<TBatch>(k1 & nibble, e + 4, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            Rows16.Step<TBatch>(k2 & nibble, e + 8, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            Rows16.Step<TBatch>(k3 & nibble, e + 12, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            Rows16.Step<TBatch>(Avx512BW.ShiftRightLogical(k0.AsUInt16(), 4).AsByte() & nibble, e + 16, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            Rows16.Step<TBatch>(Avx512BW.ShiftRightLogical(k1.AsUInt16(), 4).AsByte() & nibble, e + 20, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            Rows16.Step<TBatch>(Avx512BW.ShiftRightLogical(k2.AsUInt16(), 4).AsByte() & nibble, e + 24, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            Rows16.Step<TBatch>(Avx512BW.ShiftRightLogical(k3.AsUInt16(), 4).AsByte() & nibble, e + 28, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);

            // The sixteen rows' scale, and the minimum in the next two bytes.
            var raw = StridedDwords.Load16(blk + T.ScaleOffset, rowBytes);
            var scale = HalfVector.F16ToSingle(Avx512F.ConvertToVector256UInt16(raw.AsUInt32()));
            float* m0 = meta0 + b * 8, m1 = meta1 + b * 8;
            // The minimum is the f16 right after the scale, so the same dwords carry it.
            var min = T.MinOffset >= 0 ? HalfVector.F16ToSingle(Avx512F.ConvertToVector256UInt16(Avx512F.ShiftRightLogical(raw.AsUInt32(), 16))) : default;
            f0 = Block(s0, ones, m0 + 0, scale, min, offset, f0);
            f1 = Block(s1, ones, m0 + 1, scale, min, offset, f1);
            if (TBatch.Tokens > 2)
            {
                f2 = Block(s2, ones, m0 + 2, scale, min, offset, f2);
                f3 = Block(s3, ones, m0 + 3, scale, min, offset, f3);
            }
            if (TBatch.Tokens > 4)
            {
                f4 = Block(s4, ones, m1 + 0, scale, min, offset, f4);
                f5 = Block(s5, ones, m1 + 1, scale, min, offset, f5);
                f6 = Block(s6, ones, m1 + 2, scale, min, offset, f6);
                f7 = Block(s7, ones, m1 + 3, scale, min, offset, f7);
            }
        }
        f0.Store(output);
        if (count > 1) f1.Store(output + outputStride);
        if (count > 2) f2.Store(output + 2 * outputStride);
        if (count > 3) f3.Store(output + 3 * outputStride);
        if (count > 4) f4.Store(output + 4 * outputStride);
        if (count > 5) f5.Store(output + 5 * outputStride);
        if (count > 6) f6.Store(output + 6 * outputStride);
        if (count > 7) f7.Store(output + 7 * outputStride);
    }

    /// <summary>
    /// One token's block added to its results: d·(d_a·Σ U·q − offset·d_a·Σq) for symmetric formats,
    /// d·d_a·Σ U·q + m·d_a·Σq for formats with a minimum, with d_a and d_a·Σq from the token's <paramref name="meta"/>
    /// (4 floats apart).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Block(Vector512<short> s, Vector512<short> ones, float* meta, Vector512<float> scale,
        Vector512<float> min, Vector512<float> offset, Vector512<float> f)
    {
        var dot = Vector512.ConvertToSingle(Avx512BW.MultiplyAddAdjacent(s, ones));
        // Broadcast straight from the metadata so that the loads fold into the arithmetic.
        return T.MinOffset >= 0
            ? Vector512.FusedMultiplyAdd(min, Vector512.Create(meta[4]), Vector512.FusedMultiplyAdd(dot * Vector512.Create(meta[0]), scale, f))
            : Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(dot, Vector512.Create(meta[0]), offset * Vector512.Create(meta[4])), scale, f);
    }
}
