using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Sixteen Q4_K rows × eight tokens with AVX-512BW, the K-quant counterpart of <see cref="NibbleTile16x8{T}"/>: each
/// 64-element chunk of the sixteen rows is transposed in registers (dword j of all rows in one vector) and parked in a
/// few L1 lines, its two 32-element groups (low and high nibbles) meet all eight tokens through 512-bit
/// <c>vpmaddubsw</c> with 16-bit sums (values ≤ 15 against activations ≤ 127 in magnitude: a group's lane sum stays ≤
/// 30480), and one <c>vpmaddwd</c> by the rows' 6-bit group scales (as word pairs) widens each group into exact 32-bit
/// sums. The minimums come off per super-block through <c>vpmaddwd</c> of the rows' 6-bit minimums with the tokens'
/// 16-element activation sums; one float step per super-block and token applies d·d_a and dmin·d_a. Batches of up
/// to two or four tokens run the smaller forms (<see cref="ITileBatch"/>).
/// </summary>
[SkipLocalsInit]
internal unsafe struct Q4KTile16x8 : ITilePass
{
    private const int BlockBytes = 144;

    /// <summary>Whether this CPU has the tile.</summary>
    public static bool IsSupported => Avx512BW.IsSupported;

    /// <summary>
    /// Rows <paramref name="w"/> … +15 (<paramref name="rowBytes"/> apart) × the <paramref name="count"/> (1–8)
    /// activation rows (256-element layout) from <paramref name="first"/>, whose token quads' metadata
    /// (<see cref="SuperBlockPanels{T}.BuildQuadMeta"/>) starts at <paramref name="quadMeta"/>; row r of token t goes to
    /// <paramref name="output"/>[t·<paramref name="outputStride"/> + r]. A short batch repeats its last token (as the
    /// metadata of a short quad does) and stores only its own results.
    /// </summary>
    public static void Multiply(byte* w, long rowBytes, Q8Row first, void* quadMeta, int n, int count, float* output, long outputStride)
        => TileForms<Q4KTile16x8>.Multiply(w, rowBytes, first, quadMeta, n, count, output, outputStride);

    /// <summary><see cref="Multiply"/> in the two-, four- or eight-token form (see <see cref="ITileBatch"/>).</summary>
    static void ITilePass.Run<TBatch>(byte* w, long rowBytes, Q8Row first, void* quadMeta, int n, int count, float* output, long outputStride)
    {
        int nsb = n / 256;
        TileTokens.Rows(first.Qs, n, count, out var a0, out var a1, out var a2, out var a3, out var a4, out var a5, out var a6, out var a7);
        // Without a second quad its tokens repeat the first quad's; their results are not stored.
        int* meta0 = (int*)quadMeta, meta1 = count > 4 ? meta0 + SuperBlockPanels<Q4_KBlock>.QuadMetaDwords(n) : meta0;
        var nibble = Vector512.Create((byte)0x0F);

        // vpshufb controls that spread byte c of each row's dword into both words of the dword (a group's scale or
        // minimum as the word pair vpmaddwd multiplies a row's two pair sums by).
        var wordPairs = stackalloc Vector512<byte>[4];
        var dwordBase = Vector512.Create(0u, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12, 0, 4, 8, 12);
        for (int c = 0; c < 4; c++) wordPairs[c] = (Vector512.Create(0x80008000u) | (dwordBase + Vector512.Create((uint)c)) * 0x10001u).AsByte();

        var values = stackalloc Vector512<byte>[8];
        var minimums = stackalloc Vector512<short>[8];
        var acc = stackalloc Vector512<float>[QuantizedDot.Kernels.Tile16x8Tokens];
        for (int t = 0; t < QuantizedDot.Kernels.Tile16x8Tokens; t++) acc[t] = default;

        for (int b = 0; b < nsb; b++)
        {
            byte* blk = w + (long)b * BlockBytes;
            Rows16.PrefetchNextTile(blk, rowBytes, BlockBytes);

            // Scales and minimums: each row's twelve packed bytes unpacked to [sc0..sc7, m0..m7] four rows at a time,
            // then transposed: dword j of all rows is scales 4j..4j+3 (j < 2) or minimums 4(j−2).. (j ≥ 2).
            var lanes0 = SuperBlockUnpack.ScaleMinK4(Rows16.Lanes(blk + 4, 4 * rowBytes));
            var lanes1 = SuperBlockUnpack.ScaleMinK4(Rows16.Lanes(blk + 4 + rowBytes, 4 * rowBytes));
            var lanes2 = SuperBlockUnpack.ScaleMinK4(Rows16.Lanes(blk + 4 + 2 * rowBytes, 4 * rowBytes));
            var lanes3 = SuperBlockUnpack.ScaleMinK4(Rows16.Lanes(blk + 4 + 3 * rowBytes, 4 * rowBytes));
            Rows16.Transpose(lanes0, lanes1, lanes2, lanes3, out var scales03, out var scales47, out var mins03, out var mins47);
            for (int g = 0; g < 4; g++)
            {
                minimums[g] = Avx512BW.Shuffle(mins03, wordPairs[g]).AsInt16();
                minimums[g + 4] = Avx512BW.Shuffle(mins47, wordPairs[g]).AsInt16();
            }

            Vector512<int> m0 = default, m1 = default, m2 = default, m3 = default, m4 = default, m5 = default, m6 = default, m7 = default;
            for (int chunk = 0; chunk < 4; chunk++)
            {
                // 32 bytes per row: quads 0–3 of both groups in the first sixteen, quads 4–7 in the second; the low
                // nibbles are group 2·chunk, the high ones group 2·chunk + 1.
                byte* qs = blk + 16 + 32 * chunk;
                Rows16.Load(qs, rowBytes, out values[0], out values[1], out values[2], out values[3]);
                Rows16.Load(qs + 16, rowBytes, out values[4], out values[5], out values[6], out values[7]);
                for (int half = 0; half < 2; half++)
                {
                    int g = 2 * chunk + half;
                    int e = b * 256 + 32 * g;
                    var u = Nibbles(values[0], half, nibble);
                    Rows16.First<TBatch>(u, e, a0, a1, a2, a3, a4, a5, a6, a7, out var s0, out var s1, out var s2, out var s3, out var s4, out var s5, out var s6, out var s7);
                    for (int k = 1; k < 8; k++)
                    {
                        Rows16.Step<TBatch>(Nibbles(values[k], half, nibble), e + 4 * k, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
                    }
                    var scale = Avx512BW.Shuffle(g < 4 ? scales03 : scales47, wordPairs[g & 3]).AsInt16();
                    m0 += Avx512BW.MultiplyAddAdjacent(s0, scale);
                    m1 += Avx512BW.MultiplyAddAdjacent(s1, scale);
                    if (TBatch.Tokens <= 2) continue;
                    m2 += Avx512BW.MultiplyAddAdjacent(s2, scale);
                    m3 += Avx512BW.MultiplyAddAdjacent(s3, scale);
                    if (TBatch.Tokens <= 4) continue;
                    m4 += Avx512BW.MultiplyAddAdjacent(s4, scale);
                    m5 += Avx512BW.MultiplyAddAdjacent(s5, scale);
                    m6 += Avx512BW.MultiplyAddAdjacent(s6, scale);
                    m7 += Avx512BW.MultiplyAddAdjacent(s7, scale);
                }
            }

            // d and dmin: the first dword of each row's super-block.
            var raw = StridedDwords.Load16(blk, rowBytes);
            var d = HalfVector.F16ToSingle(Avx512F.ConvertToVector256UInt16(raw));
            var dmin = HalfVector.F16ToSingle(Avx512F.ConvertToVector256UInt16(Avx512F.ShiftRightLogical(raw, 16)));
            int* q0 = meta0 + b * SuperBlockPanels<Q4_KBlock>.QuadDwordsPerSuperBlock, q1 = meta1 + b * SuperBlockPanels<Q4_KBlock>.QuadDwordsPerSuperBlock;
            acc[0] = Finish(m0, q0, 0, d, dmin, minimums, acc[0]);
            acc[1] = Finish(m1, q0, 1, d, dmin, minimums, acc[1]);
            if (TBatch.Tokens > 2)
            {
                acc[2] = Finish(m2, q0, 2, d, dmin, minimums, acc[2]);
                acc[3] = Finish(m3, q0, 3, d, dmin, minimums, acc[3]);
            }
            if (TBatch.Tokens > 4)
            {
                acc[4] = Finish(m4, q1, 0, d, dmin, minimums, acc[4]);
                acc[5] = Finish(m5, q1, 1, d, dmin, minimums, acc[5]);
                acc[6] = Finish(m6, q1, 2, d, dmin, minimums, acc[6]);
                acc[7] = Finish(m7, q1, 3, d, dmin, minimums, acc[7]);
            }
        }
        for (int t = 0; t < count; t++) acc[t].Store(output + t * outputStride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Nibbles(Vector512<byte> v, int half, Vector512<byte> nibble) =>
        (half == 0 ? v : Avx512BW.ShiftRightLogical(v.AsUInt16(), 4).AsByte()) & nibble;

    /// <summary>
    /// One token's super-block: d·d_a·Σ scale·dot − dmin·d_a·Σ min·(activation sums), the sums of each group's two
    /// 16-element halves taken from the quad metadata (token <paramref name="i"/> of quad <paramref name="meta"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Finish(Vector512<int> dot, int* meta, int i, Vector512<float> d, Vector512<float> dmin, Vector512<short>* minimums, Vector512<float> acc)
    {
        var da = Vector512.Create(((float*)meta)[i]);
        int* sums = meta + 4 + i;
        var bias = Avx512BW.MultiplyAddAdjacent(minimums[0], Vector512.Create(sums[0]).AsInt16());
        for (int g = 1; g < 8; g++) bias += Avx512BW.MultiplyAddAdjacent(minimums[g], Vector512.Create(sums[4 * g]).AsInt16());
        return Vector512.FusedMultiplyAdd(Vector512.ConvertToSingle(dot), d * da, acc) - Vector512.ConvertToSingle(bias) * (dmin * da);
    }
}
