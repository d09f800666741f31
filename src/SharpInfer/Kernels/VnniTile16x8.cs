using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Sixteen weight rows × up to eight tokens for the 32-element formats whose values do not fit the 16-bit sums of
/// <see cref="NibbleTile16x8{T}"/> (Q8_0, Q5_0, Q5_1, IQ4_NL; and Q4_0, Q4_1 on CPUs without AVX-512BW), with
/// 256-bit <c>vpdpbusd</c> (AVX-VNNI), whose 32-bit sums hold any unsigned byte against any activation. The tile runs
/// as two halves of eight rows: each block of the eight rows is unpacked and transposed in registers (one vector holds
/// four consecutive elements of all eight rows) and meets all the batch's tokens before the next block is read, so
/// nothing is packed to memory, unlike the panels, which spent about 30 % of an 8-token Q8_0 product packing. Lanes
/// are rows, so the rows' block scales apply as one vector. Batches of up to two or four tokens run the smaller forms
/// (<see cref="ITileBatch"/>).
/// </summary>
[SkipLocalsInit]
internal unsafe struct VnniTile16x8<T> : ITilePass where T : struct, IBlock32
{
    /// <summary>Whether this CPU has the tile (AVX-VNNI).</summary>
    public static bool IsSupported => AvxVnni.IsSupported;

    /// <summary>
    /// Rows <paramref name="w"/> … +15 (<paramref name="rowBytes"/> apart) × the <paramref name="count"/> (1–8) activation
    /// rows from <paramref name="first"/>, whose token quads' metadata (<see cref="Block32Panels{T}.BuildQuadMeta"/>)
    /// starts at <paramref name="quadMeta"/>; row r of token t goes to
    /// <paramref name="output"/>[t·<paramref name="outputStride"/> + r]. A short batch repeats its last token (as the
    /// metadata of a short quad does) and stores only its own results.
    /// </summary>
    public static void Multiply(byte* w, long rowBytes, Q8Row first, void* quadMeta, int n, int count, float* output, long outputStride)
        => TileForms<VnniTile16x8<T>>.Multiply(w, rowBytes, first, quadMeta, n, count, output, outputStride);

    /// <summary><see cref="Multiply"/> in the two-, four- or eight-token form (see <see cref="ITileBatch"/>): both halves.</summary>
    static void ITilePass.Run<TBatch>(byte* w, long rowBytes, Q8Row first, void* quadMeta, int n, int count, float* output, long outputStride)
    {
        Half<TBatch>(w, rowBytes, first, quadMeta, n, count, output, outputStride);
        Half<TBatch>(w + 8 * rowBytes, rowBytes, first, quadMeta, n, count, output + 8, outputStride);
    }

    /// <summary>
    /// Eight rows of the tile for two, four or eight tokens; the eight rows after them (the other half, or the next
    /// tile's first) are prefetched.
    /// </summary>
    private static void Half<TBatch>(byte* w, long rowBytes, Q8Row first, void* quadMeta, int n, int count, float* output, long outputStride)
        where TBatch : struct, ITileBatch
    {
        int nb = n / 32, bb = T.BlockBytes;
        TileTokens.Rows(first.Qs, n, count, out var a0, out var a1, out var a2, out var a3, out var a4, out var a5, out var a6, out var a7);
        // Without a second quad its tokens repeat the first quad's; their results are not stored.
        float* meta0 = (float*)quadMeta, meta1 = count > 4 ? meta0 + Block32Panels<T>.QuadMetaFloats(n) : meta0;
        var offset = Vector256.Create((float)-T.Offset);
        // The results wait in memory between blocks: in registers they took the low sixteen, where the JIT keeps
        // vpdpbusd's sums (as for a VEX encoding, even when it emits the EVEX form), and it then copied every sum in
        // and out of one register around each product.
        var acc = stackalloc Vector256<float>[QuantizedDot.Kernels.Tile16x8Tokens];
        for (int t = 0; t < QuantizedDot.Kernels.Tile16x8Tokens; t++) acc[t] = default;
        for (int b = 0; b < nb; b++)
        {
            byte* blk = w + (long)b * bb;
            // Two blocks (at most 68 bytes) per prefetch round: one or two lines per row.
            if ((b & 1) == 0) DecodePrefetch.Rows(blk + 8 * rowBytes, rowBytes, 8, 2 * bb);
            Block32Panels<T>.UnpackRows8(blk, rowBytes, out var u0, out var u1, out var u2, out var u3, out var v0, out var v1, out var v2, out var v3);
            PanelTranspose.InLanes8x8(ref u0, ref u1, ref u2, ref u3, ref v0, ref v1, ref v2, ref v3);
            int e = b * 32;
            Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            // Quads 0–3, then 4–7, so that only four of them are live beside the eight sums: the JIT keeps vpdpbusd's
            // accumulator and unsigned operand in the low sixteen registers (only the broadcast may sit above).
            Quad<TBatch>(PanelTranspose.LowLanes(u0, v0).AsByte(), e, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            Quad<TBatch>(PanelTranspose.LowLanes(u1, v1).AsByte(), e + 4, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            Quad<TBatch>(PanelTranspose.LowLanes(u2, v2).AsByte(), e + 8, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            Quad<TBatch>(PanelTranspose.LowLanes(u3, v3).AsByte(), e + 12, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            Quad<TBatch>(PanelTranspose.HighLanes(u0, v0).AsByte(), e + 16, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            Quad<TBatch>(PanelTranspose.HighLanes(u1, v1).AsByte(), e + 20, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            Quad<TBatch>(PanelTranspose.HighLanes(u2, v2).AsByte(), e + 24, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);
            Quad<TBatch>(PanelTranspose.HighLanes(u3, v3).AsByte(), e + 28, a0, a1, a2, a3, a4, a5, a6, a7, ref s0, ref s1, ref s2, ref s3, ref s4, ref s5, ref s6, ref s7);

            // The eight rows' scale (and minimum): the widening reads the low half of each dword.
            var scale = HalfVector.FromBits(StridedDwords.Load8(blk + T.ScaleOffset, rowBytes));
            var min = T.MinOffset >= 0 ? HalfVector.FromBits(StridedDwords.Load8(blk + T.MinOffset, rowBytes)) : default;
            float* m0 = meta0 + b * 8, m1 = meta1 + b * 8;
            acc[0] = Block(s0, m0 + 0, scale, min, offset, acc[0]);
            acc[1] = Block(s1, m0 + 1, scale, min, offset, acc[1]);
            if (TBatch.Tokens > 2)
            {
                acc[2] = Block(s2, m0 + 2, scale, min, offset, acc[2]);
                acc[3] = Block(s3, m0 + 3, scale, min, offset, acc[3]);
            }
            if (TBatch.Tokens > 4)
            {
                acc[4] = Block(s4, m1 + 0, scale, min, offset, acc[4]);
                acc[5] = Block(s5, m1 + 1, scale, min, offset, acc[5]);
                acc[6] = Block(s6, m1 + 2, scale, min, offset, acc[6]);
                acc[7] = Block(s7, m1 + 3, scale, min, offset, acc[7]);
            }
        }
        for (int t = 0; t < count; t++) acc[t].Store(output + t * outputStride);
    }

    /// <summary>
    /// Element quad <paramref name="u"/> of the eight rows against the two, four or eight tokens' bytes at offset
    /// <paramref name="e"/> (at most 8·4·255·127 per 32-bit sum over a block, far from overflow).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quad<TBatch>(Vector256<byte> u, int e, sbyte* a0, sbyte* a1, sbyte* a2, sbyte* a3, sbyte* a4, sbyte* a5, sbyte* a6, sbyte* a7,
        ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3,
        ref Vector256<int> s4, ref Vector256<int> s5, ref Vector256<int> s6, ref Vector256<int> s7)
        where TBatch : struct, ITileBatch
    {
        s0 = AvxVnni.MultiplyWideningAndAdd(s0, u, Vector256.Create(*(int*)(a0 + e)).AsSByte());
        s1 = AvxVnni.MultiplyWideningAndAdd(s1, u, Vector256.Create(*(int*)(a1 + e)).AsSByte());
        if (TBatch.Tokens <= 2) return;
        s2 = AvxVnni.MultiplyWideningAndAdd(s2, u, Vector256.Create(*(int*)(a2 + e)).AsSByte());
        s3 = AvxVnni.MultiplyWideningAndAdd(s3, u, Vector256.Create(*(int*)(a3 + e)).AsSByte());
        if (TBatch.Tokens <= 4) return;
        s4 = AvxVnni.MultiplyWideningAndAdd(s4, u, Vector256.Create(*(int*)(a4 + e)).AsSByte());
        s5 = AvxVnni.MultiplyWideningAndAdd(s5, u, Vector256.Create(*(int*)(a5 + e)).AsSByte());
        s6 = AvxVnni.MultiplyWideningAndAdd(s6, u, Vector256.Create(*(int*)(a6 + e)).AsSByte());
        s7 = AvxVnni.MultiplyWideningAndAdd(s7, u, Vector256.Create(*(int*)(a7 + e)).AsSByte());
    }

    /// <summary>
    /// One token's block added to its results: d·(d_a·Σ U·q − offset·d_a·Σq) for symmetric formats,
    /// d·d_a·Σ U·q + m·d_a·Σq for formats with a minimum, with d_a and d_a·Σq from the token's <paramref name="meta"/>
    /// (4 floats apart).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Block(Vector256<int> s, float* meta, Vector256<float> scale, Vector256<float> min, Vector256<float> offset, Vector256<float> f)
    {
        var dot = Vector256.ConvertToSingle(s);
        return T.MinOffset >= 0
            ? Vector256.FusedMultiplyAdd(min, Vector256.Create(meta[4]), Vector256.FusedMultiplyAdd(dot * Vector256.Create(meta[0]), scale, f))
            : Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(dot, Vector256.Create(meta[0]), offset * Vector256.Create(meta[4])), scale, f);
    }
}
