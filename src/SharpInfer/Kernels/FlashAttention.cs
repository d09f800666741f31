using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>
/// Flash-style attention for a block of query tokens of one sequence and one KV head, with all the query heads that
/// share it (rows = tokens × group). The rows are taken eight at a time, one per vector lane: the queries are
/// transposed once per call ([dimension][row], softmax scale folded in), so a cell's scores for eight rows are one
/// vector built from broadcast key elements, and the online softmax (running max and sum, corrections, masks) is
/// plain lane-wise arithmetic with no horizontal reductions and no transposed key tile. Cells are visited in tiles of
/// 32: each tile's keys and values are widened once to f32 rows (f32 caches are read in place) and serve every row
/// block, so prefill converts the cache once per query block rather than once per token. The weighted values
/// accumulate four rows at a time in registers (512-bit where the head size allows). No score matrix over the context
/// is ever formed. Each token sees a contiguous range of the sequence's position-sorted cells (causal and
/// sliding-window masks are ranges), applied per lane; tiles outside a whole row block's ranges are skipped.
/// <see cref="Attention.ComputeScalar"/> is the reference twin.
/// </summary>
[SkipLocalsInit]
public static unsafe class FlashAttention
{
    /// <summary>Cells per tile.</summary>
    public const int Tile = 32;

    /// <summary>Most query tokens per call.</summary>
    public const int MaxTokens = 16;

    /// <summary>Query rows per lane block.</summary>
    private const int Lanes = 8;

    /// <summary>Floats of scratch one call needs.</summary>
    public static long ScratchFloats(int group, int headDimK, int headDimV)
    {
        long rows = ((long)MaxTokens * group + Lanes - 1) / Lanes * Lanes;
        return Tile * (long)(headDimK + headDimV) + rows * (headDimK + headDimV) + Tile * Lanes + 4 * rows + Lanes + 4 * Tile + 2 * (rows / Lanes) + 128;
    }

    /// <summary>
    /// Attention for <paramref name="tokens"/> query tokens. Token t's <paramref name="group"/> query heads start at
    /// <paramref name="q"/> + t·<paramref name="qStride"/> (heads contiguous, <paramref name="headDimK"/> each) and its
    /// outputs at <paramref name="output"/> + t·<paramref name="outputStride"/>. Token t attends to
    /// <paramref name="cells"/>[<paramref name="from"/>[t] .. <paramref name="to"/>[t]); with an empty range its output is zero.
    /// A positive <paramref name="softcap"/> c caps every scaled score s to c·tanh(s/c) before the softmax (Gemma 2).
    /// </summary>
    public static void Compute(float* q, long qStride, int tokens, int group, int headDimK, int headDimV,
        KvLayerView kv, int kvHead, ReadOnlySpan<int> cells, int* from, int* to, float scale,
        float* output, long outputStride, float* scratch, float softcap = 0f)
    {
        if (tokens > MaxTokens) throw new ArgumentOutOfRangeException(nameof(tokens), $"at most {MaxTokens} tokens per call");
        int rows = tokens * group;
        int padded = (rows + Lanes - 1) / Lanes * Lanes;
        int blocks = padded / Lanes;
        float* kTile = scratch;
        float* vTile = kTile + Tile * headDimK;
        float* qT = vTile + Tile * headDimV;
        float* acc = qT + (long)padded * headDimK;
        float* scores = acc + (long)padded * headDimV;
        float* runMax = scores + Tile * Lanes;
        float* runSum = runMax + padded;
        int* lo = (int*)(runSum + padded);
        int* hi = lo + padded;
        float* corrections = (float*)(hi + padded);
        int* blockLo = (int*)(corrections + Lanes);
        int* blockHi = blockLo + blocks;
        float** kRows = (float**)(((nint)(blockHi + blocks) + 63) & ~(nint)63);
        float** vRows = kRows + Tile;

        bool vector = Vector256.IsHardwareAccelerated && headDimK % 8 == 0 && headDimV % 8 == 0;
        int first = int.MaxValue, last = 0;
        for (int r = 0; r < padded; r++)
        {
            int t = r / group;
            bool real = r < rows && from[t] < to[t];
            lo[r] = real ? from[t] : 0;
            hi[r] = real ? to[t] : 0;
            runMax[r] = float.NegativeInfinity;
            runSum[r] = 0;
            if (real)
            {
                first = Math.Min(first, lo[r]);
                last = Math.Max(last, hi[r]);
            }
        }
        new Span<float>(acc, padded * headDimV).Clear();
        if (vector) TransposeQueries(q, qStride, rows, group, headDimK, scale, qT, padded);
        for (int b = 0; b < blocks; b++)
        {
            int bl = int.MaxValue, bh = 0;
            for (int r = b * Lanes; r < (b + 1) * Lanes; r++)
            {
                if (lo[r] >= hi[r]) continue;
                bl = Math.Min(bl, lo[r]);
                bh = Math.Max(bh, hi[r]);
            }
            blockLo[b] = bl;
            blockHi[b] = bh;
        }

        long kOffset = GgmlTypeInfo.RowBytes(kv.TypeK, (long)kvHead * headDimK);
        long vOffset = GgmlTypeInfo.RowBytes(kv.TypeV, (long)kvHead * headDimV);
        long kHeadBytes = GgmlTypeInfo.RowBytes(kv.TypeK, headDimK), vHeadBytes = GgmlTypeInfo.RowBytes(kv.TypeV, headDimV);
        // A latent (MLA) cache keeps one row per cell whose first elements are the values: widen it once, read it twice.
        bool valuesInKeys = kv.SharesRows && vOffset == kOffset && headDimV <= headDimK;
        if (valuesInKeys) vHeadBytes = 0;
        if (first < last) Prefetch(kv, cells, first, Math.Min(last, first + PrefetchTiles * Tile), kOffset, kHeadBytes, vOffset, vHeadBytes);
        for (int start = first; start < last; start += Tile)
        {
            int n = Math.Min(Tile, last - start);
            // A head's keys and values are a few lines per cell, strided by the whole cache row: without help the
            // hardware fetches them one miss at a time. Keep the tile PrefetchTiles ahead in flight.
            int ahead = start + PrefetchTiles * Tile;
            if (ahead < last) Prefetch(kv, cells, ahead, Math.Min(last, ahead + Tile), kOffset, kHeadBytes, vOffset, vHeadBytes);
            var tileCells = cells.Slice(start, n);
            Widen(kv.K, kv.KRowBytes, kOffset, kv.TypeK, tileCells, headDimK, kTile, kRows);
            if (valuesInKeys) new Span<nint>(kRows, n).CopyTo(new Span<nint>(vRows, n));
            else Widen(kv.V, kv.VRowBytes, vOffset, kv.TypeV, tileCells, headDimV, vTile, vRows);
            if (vector)
            {
                for (int b = 0; b < blocks; b++)
                {
                    if (blockLo[b] >= start + n || blockHi[b] <= start) continue;
                    int r0 = b * Lanes;
                    ScoresBlock(qT + (long)r0 * headDimK, kRows, n, headDimK, scores);
                    if (softcap > 0) Softcap.Apply(scores, n * Lanes, softcap);
                    SoftmaxBlock(scores, n, start, lo + r0, hi + r0, runMax + r0, runSum + r0, corrections);
                    AccumulateBlock(scores, n, vRows, headDimV, acc + (long)r0 * headDimV, corrections, Math.Min(Lanes, rows - r0));
                }
            }
            else
            {
                for (int r = 0; r < rows; r++)
                {
                    int a = Math.Max(lo[r] - start, 0), z = Math.Min(hi[r] - start, n);
                    if (a >= z) continue;
                    float* qRow = q + (r / group) * qStride + (long)(r % group) * headDimK;
                    float* s = scores;
                    for (int j = a; j < z; j++) s[j] = Dot.F32(qRow, kRows[j], headDimK) * scale;
                    if (softcap > 0) Softcap.Apply(s + a, z - a, softcap);
                    float* accRow = acc + (long)r * headDimV;
                    ScalarSoftmax(s, a, z, ref runMax[r], ref runSum[r], accRow, headDimV);
                    for (int j = a; j < z; j++) Elementwise.MultiplyAdd(accRow, vRows[j], s[j], headDimV);
                }
            }
        }
        for (int r = 0; r < rows; r++)
        {
            int t = r / group, g = r % group;
            float inv = runSum[r] > 0 ? 1f / runSum[r] : 0f;
            Elementwise.ScaleTo(output + t * outputStride + (long)g * headDimV, acc + (long)r * headDimV, inv, headDimV);
        }
    }

    /// <summary>qT[block][d][lane] = scale · q[row = block·8 + lane][d]; padding rows are zero.</summary>
    private static void TransposeQueries(float* q, long qStride, int rows, int group, int dim, float scale, float* qT, int padded)
    {
        for (int r = 0; r < padded; r++)
        {
            float* dst = qT + (long)(r / Lanes) * Lanes * dim + r % Lanes;
            if (r >= rows)
            {
                for (int d = 0; d < dim; d++) dst[d * Lanes] = 0;
                continue;
            }
            float* src = q + (r / group) * qStride + (long)(r % group) * dim;
            for (int d = 0; d < dim; d++) dst[d * Lanes] = src[d] * scale;
        }
    }

    /// <summary>
    /// scores[j·8 + lane] = k_j · qT[lane] for the tile's n cells: eight cells at a time (eight independent chains),
    /// each step one query-column load and eight broadcast key elements.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ScoresBlock(float* qT, float** kRows, int n, int dim, float* scores)
    {
        int j = 0;
        for (; j + 8 <= n; j += 8)
        {
            float* k0 = kRows[j], k1 = kRows[j + 1], k2 = kRows[j + 2], k3 = kRows[j + 3];
            float* k4 = kRows[j + 4], k5 = kRows[j + 5], k6 = kRows[j + 6], k7 = kRows[j + 7];
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int d = 0; d < dim; d++)
            {
                var column = Vector256.Load(qT + d * Lanes);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Create(k0[d]), column, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Create(k1[d]), column, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Create(k2[d]), column, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Create(k3[d]), column, a3);
                a4 = Vector256.FusedMultiplyAdd(Vector256.Create(k4[d]), column, a4);
                a5 = Vector256.FusedMultiplyAdd(Vector256.Create(k5[d]), column, a5);
                a6 = Vector256.FusedMultiplyAdd(Vector256.Create(k6[d]), column, a6);
                a7 = Vector256.FusedMultiplyAdd(Vector256.Create(k7[d]), column, a7);
            }
            float* s = scores + j * Lanes;
            a0.Store(s);
            a1.Store(s + Lanes);
            a2.Store(s + 2 * Lanes);
            a3.Store(s + 3 * Lanes);
            a4.Store(s + 4 * Lanes);
            a5.Store(s + 5 * Lanes);
            a6.Store(s + 6 * Lanes);
            a7.Store(s + 7 * Lanes);
        }
        for (; j < n; j++)
        {
            float* k = kRows[j];
            Vector256<float> a = default;
            for (int d = 0; d < dim; d++) a = Vector256.FusedMultiplyAdd(Vector256.Create(k[d]), Vector256.Load(qT + d * Lanes), a);
            a.Store(scores + j * Lanes);
        }
    }

    /// <summary>
    /// Online softmax step of eight rows (one per lane) over the tile's cells: cells outside a lane's range are masked,
    /// scores become weights, running max and sum advance, and each lane's factor for its accumulator goes to
    /// <paramref name="corrections"/>. A lane that has seen no visible cell yet keeps weight 0 and factor 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SoftmaxBlock(float* scores, int n, int start, int* lo, int* hi, float* runMax, float* runSum, float* corrections)
    {
        var low = Vector256.Load(lo);
        var high = Vector256.Load(hi);
        var minusInf = Vector256.Create(float.NegativeInfinity);
        var max = minusInf;
        for (int j = 0; j < n; j++)
        {
            var cell = Vector256.Create(start + j);
            var visible = (Vector256.GreaterThanOrEqual(cell, low) & Vector256.LessThan(cell, high)).AsSingle();
            var s = Vector256.ConditionalSelect(visible, Vector256.Load(scores + j * Lanes), minusInf);
            s.Store(scores + j * Lanes);
            max = Vector256.Max(max, s);
        }
        var oldMax = Vector256.Load(runMax);
        var newMax = Vector256.Max(oldMax, max);
        var unseen = Vector256.Equals(newMax, minusInf);
        var shift = Vector256.ConditionalSelect(unseen, Vector256<float>.Zero, newMax);
        var sum = Vector256<float>.Zero;
        for (int j = 0; j < n; j++)
        {
            // Masked cells hold −∞: e^(−∞) is exactly 0.
            var p = FastExp.Exp(Vector256.Load(scores + j * Lanes) - shift);
            p.Store(scores + j * Lanes);
            sum += p;
        }
        var correction = Vector256.ConditionalSelect(unseen, Vector256<float>.One, FastExp.Exp(oldMax - shift));
        (Vector256.Load(runSum) * correction + sum).Store(runSum);
        newMax.Store(runMax);
        correction.Store(corrections);
    }

    /// <summary>
    /// acc_r = corrections_r·acc_r + Σ_j weight_jr · v_j for the block's first <paramref name="count"/> rows, four
    /// rows at a time with their accumulators in registers (32 values per row per pass with Vector512, else 8).
    /// Rows of a partial group past <paramref name="count"/> are padding with zero weights; they are computed and
    /// stored into their own (unused) accumulator rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AccumulateBlock(float* weights, int n, float** vRows, int dimV, float* acc, float* corrections, int count)
    {
        for (int r = 0; r < count; r += 4)
        {
            float* a0 = acc + (long)r * dimV, a1 = a0 + dimV, a2 = a1 + dimV, a3 = a2 + dimV;
            float* w = weights + r;
            int c = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                var f0 = Vector512.Create(corrections[r]);
                var f1 = Vector512.Create(corrections[r + 1]);
                var f2 = Vector512.Create(corrections[r + 2]);
                var f3 = Vector512.Create(corrections[r + 3]);
                for (; c + 32 <= dimV; c += 32)
                {
                    var o00 = Vector512.Load(a0 + c) * f0; var o01 = Vector512.Load(a0 + c + 16) * f0;
                    var o10 = Vector512.Load(a1 + c) * f1; var o11 = Vector512.Load(a1 + c + 16) * f1;
                    var o20 = Vector512.Load(a2 + c) * f2; var o21 = Vector512.Load(a2 + c + 16) * f2;
                    var o30 = Vector512.Load(a3 + c) * f3; var o31 = Vector512.Load(a3 + c + 16) * f3;
                    for (int j = 0; j < n; j++)
                    {
                        float* v = vRows[j] + c;
                        var v0 = Vector512.Load(v);
                        var v1 = Vector512.Load(v + 16);
                        float* wj = w + j * Lanes;
                        var x = Vector512.Create(wj[0]);
                        o00 = Vector512.FusedMultiplyAdd(x, v0, o00); o01 = Vector512.FusedMultiplyAdd(x, v1, o01);
                        x = Vector512.Create(wj[1]);
                        o10 = Vector512.FusedMultiplyAdd(x, v0, o10); o11 = Vector512.FusedMultiplyAdd(x, v1, o11);
                        x = Vector512.Create(wj[2]);
                        o20 = Vector512.FusedMultiplyAdd(x, v0, o20); o21 = Vector512.FusedMultiplyAdd(x, v1, o21);
                        x = Vector512.Create(wj[3]);
                        o30 = Vector512.FusedMultiplyAdd(x, v0, o30); o31 = Vector512.FusedMultiplyAdd(x, v1, o31);
                    }
                    o00.Store(a0 + c); o01.Store(a0 + c + 16);
                    o10.Store(a1 + c); o11.Store(a1 + c + 16);
                    o20.Store(a2 + c); o21.Store(a2 + c + 16);
                    o30.Store(a3 + c); o31.Store(a3 + c + 16);
                }
            }
            var g0 = Vector256.Create(corrections[r]);
            var g1 = Vector256.Create(corrections[r + 1]);
            var g2 = Vector256.Create(corrections[r + 2]);
            var g3 = Vector256.Create(corrections[r + 3]);
            for (; c < dimV; c += 8)
            {
                var o0 = Vector256.Load(a0 + c) * g0;
                var o1 = Vector256.Load(a1 + c) * g1;
                var o2 = Vector256.Load(a2 + c) * g2;
                var o3 = Vector256.Load(a3 + c) * g3;
                for (int j = 0; j < n; j++)
                {
                    var v = Vector256.Load(vRows[j] + c);
                    float* wj = w + j * Lanes;
                    o0 = Vector256.FusedMultiplyAdd(Vector256.Create(wj[0]), v, o0);
                    o1 = Vector256.FusedMultiplyAdd(Vector256.Create(wj[1]), v, o1);
                    o2 = Vector256.FusedMultiplyAdd(Vector256.Create(wj[2]), v, o2);
                    o3 = Vector256.FusedMultiplyAdd(Vector256.Create(wj[3]), v, o3);
                }
                o0.Store(a0 + c);
                o1.Store(a1 + c);
                o2.Store(a2 + c);
                o3.Store(a3 + c);
            }
        }
    }

    /// <summary>Tiles of cells whose keys and values are requested ahead of use.</summary>
    private const int PrefetchTiles = 8;

    private static void Prefetch(KvLayerView kv, ReadOnlySpan<int> cells, int from, int to, long kOffset, long kBytes, long vOffset, long vBytes)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        for (int j = from; j < to; j++)
        {
            byte* k = kv.K + cells[j] * kv.KRowBytes + kOffset;
            byte* v = kv.V + cells[j] * kv.VRowBytes + vOffset;
            for (long b = 0; b < kBytes; b += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch0(k + b);
            for (long b = 0; b < vBytes; b += 64) System.Runtime.Intrinsics.X86.Sse.Prefetch0(v + b);
        }
    }

    /// <summary>Points <paramref name="rows"/> at each cell's f32 head vector, widening into <paramref name="tile"/> unless stored as f32.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Widen(byte* data, long rowBytes, long offset, GgmlType type, ReadOnlySpan<int> cells, int width, float* tile, float** rows)
    {
        for (int j = 0; j < cells.Length; j++)
        {
            byte* src = data + cells[j] * rowBytes + offset;
            if (type == GgmlType.F32)
            {
                rows[j] = (float*)src;
                continue;
            }
            float* dst = tile + j * width;
            if (type == GgmlType.F16) FloatDot.F16ToSingle((ushort*)src, dst, width);
            else if (type == GgmlType.BF16) FloatDot.BF16ToSingle((ushort*)src, dst, width);
            else Dequantize.Row(type, src, dst, width);
            rows[j] = dst;
        }
    }

    /// <summary>Online softmax step of one row (scalar path for head sizes that are not a multiple of 8).</summary>
    private static void ScalarSoftmax(float* s, int lo, int hi, ref float runMax, ref float runSum, float* acc, int dimV)
    {
        float tileMax = float.NegativeInfinity;
        for (int j = lo; j < hi; j++) tileMax = MathF.Max(tileMax, s[j]);
        float newMax = MathF.Max(runMax, tileMax);
        if (float.IsNegativeInfinity(newMax))
        {
            for (int j = lo; j < hi; j++) s[j] = 0;
            return;
        }
        float correction = FastExp.ExpScalar(runMax - newMax);
        float sum = 0;
        for (int k = lo; k < hi; k++)
        {
            float p = FastExp.ExpScalar(s[k] - newMax);
            s[k] = p;
            sum += p;
        }
        runSum = runSum * correction + sum;
        runMax = newMax;
        if (correction != 1f) Elementwise.Scale(acc, correction, dimV);
    }
}
