using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>
/// Flash-style attention for a block of query tokens of one sequence and one KV head, with all the query heads that
/// share it (rows = tokens × group). Cells are visited in tiles of 32: each tile's keys are widened once into a
/// transposed f32 tile ([dimension][cell], so a score vector is a sum of broadcast-query × key-vector products with no
/// horizontal sums) and its values into f32 rows (f32 caches are read in place); the tile then serves every row, so
/// prefill converts the cache once per query block rather than once per token. Scores go through an online softmax
/// (running max and sum per row, <see cref="FastExp"/>), the accumulated values are rescaled as they are loaded, and
/// no score matrix over the context is ever formed. Each token sees a contiguous range of the sequence's
/// position-sorted cells (causal and sliding-window masks are ranges); tiles outside a row's range are skipped for it.
/// Vector256 arithmetic (attention is a few percent of the work next to the matrix products); the phases are separate
/// non-inlined methods so each gets all vector registers. <see cref="Attention.ComputeScalar"/> is the reference twin.
/// </summary>
[SkipLocalsInit]
public static unsafe class FlashAttention
{
    /// <summary>Cells per tile.</summary>
    public const int Tile = 32;

    /// <summary>Most query tokens per call.</summary>
    public const int MaxTokens = 16;

    /// <summary>Floats of scratch one call needs.</summary>
    public static long ScratchFloats(int group, int headDimK, int headDimV)
    {
        long rows = (long)MaxTokens * group;
        return 2 * Tile * (long)headDimK + Tile * (long)headDimV + rows * Tile + rows * headDimV + 2 * rows + 2 * Tile * 2 + 128;
    }

    /// <summary>
    /// Attention for <paramref name="tokens"/> query tokens. Token t's <paramref name="group"/> query heads start at
    /// <paramref name="q"/> + t·<paramref name="qStride"/> (heads contiguous, <paramref name="headDimK"/> each) and its
    /// outputs at <paramref name="output"/> + t·<paramref name="outputStride"/>. Token t attends to
    /// <paramref name="cells"/>[<paramref name="from"/>[t] .. <paramref name="to"/>[t]); with an empty range its output is zero.
    /// </summary>
    public static void Compute(float* q, long qStride, int tokens, int group, int headDimK, int headDimV,
        KvLayerView kv, int kvHead, ReadOnlySpan<int> cells, int* from, int* to, float scale,
        float* output, long outputStride, float* scratch)
    {
        if (tokens > MaxTokens) throw new ArgumentOutOfRangeException(nameof(tokens), $"at most {MaxTokens} tokens per call");
        int rows = tokens * group;
        float* kTile = scratch;
        float* kT = kTile + Tile * headDimK;
        float* vTile = kT + Tile * headDimK;
        float* scores = vTile + Tile * headDimV;
        float* acc = scores + rows * Tile;
        float* runMax = acc + rows * headDimV;
        float* runSum = runMax + rows;
        float** kRows = (float**)(((nint)(runSum + rows) + 63) & ~(nint)63);
        float** vRows = kRows + Tile;
        float* corrections = (float*)(vRows + Tile);
        for (int r = 0; r < rows; r++)
        {
            runMax[r] = float.NegativeInfinity;
            runSum[r] = 0;
        }
        new Span<float>(acc, rows * headDimV).Clear();

        int first = int.MaxValue, last = 0;
        for (int t = 0; t < tokens; t++)
        {
            if (from[t] >= to[t]) continue;
            first = Math.Min(first, from[t]);
            last = Math.Max(last, to[t]);
        }
        bool vector = Vector256.IsHardwareAccelerated && headDimK % 8 == 0 && headDimV % 8 == 0;
        long kOffset = GgmlTypeInfo.RowBytes(kv.TypeK, (long)kvHead * headDimK);
        long vOffset = GgmlTypeInfo.RowBytes(kv.TypeV, (long)kvHead * headDimV);
        long kHeadBytes = GgmlTypeInfo.RowBytes(kv.TypeK, headDimK), vHeadBytes = GgmlTypeInfo.RowBytes(kv.TypeV, headDimV);
        if (first < last) Prefetch(kv, cells, first, Math.Min(last, first + PrefetchTiles * Tile), kOffset, kHeadBytes, vOffset, vHeadBytes);
        for (int start = first; start < last; start += Tile)
        {
            int n = Math.Min(Tile, last - start);
            // A head's keys and values are a few lines per cell, strided by the whole cache row: without help the
            // hardware fetches them one miss at a time. Keep the tile PrefetchTiles ahead in flight.
            int ahead = start + PrefetchTiles * Tile;
            if (ahead < last) Prefetch(kv, cells, ahead, Math.Min(last, ahead + Tile), kOffset, kHeadBytes, vOffset, vHeadBytes);
            var tileCells = cells.Slice(start, n);
            if (vector && kv.TypeK == GgmlType.F16) TransposeF16(kv.K, kv.KRowBytes, kOffset, tileCells, headDimK, kT);
            else
            {
                Widen(kv.K, kv.KRowBytes, kOffset, kv.TypeK, tileCells, headDimK, kTile, kRows);
                if (vector) Transpose(kRows, n, headDimK, kT);
            }
            Widen(kv.V, kv.VRowBytes, vOffset, kv.TypeV, tileCells, headDimV, vTile, vRows);
            for (int t = 0; t < tokens; t++)
            {
                int lo = Math.Max(from[t] - start, 0), hi = Math.Min(to[t] - start, n);
                if (lo >= hi) continue;
                for (int g = 0; g < group; g += 4)
                {
                    int count = Math.Min(4, group - g);
                    int row = t * group + g;
                    float* qRows = q + t * qStride + (long)g * headDimK;
                    float* s = scores + row * Tile;
                    float* a = acc + (long)row * headDimV;
                    if (vector)
                    {
                        ScoresTransposed(qRows, count, headDimK, kT, scale, s);
                        SoftmaxRows(s, count, lo, hi, runMax + row, runSum + row, corrections);
                        AccumulateValues(s, count, lo, hi, vRows, headDimV, a, corrections);
                    }
                    else
                    {
                        for (int i = 0; i < count; i++)
                        {
                            float* si = s + i * Tile;
                            for (int j = lo; j < hi; j++) si[j] = Dot.F32(qRows + i * headDimK, kRows[j], headDimK) * scale;
                            ScalarSoftmax(si, lo, hi, ref runMax[row + i], ref runSum[row + i], a + (long)i * headDimV, headDimV);
                            for (int j = lo; j < hi; j++) Elementwise.MultiplyAdd(a + (long)i * headDimV, vRows[j], si[j], headDimV);
                        }
                    }
                }
            }
        }
        for (int t = 0; t < tokens; t++)
        {
            for (int g = 0; g < group; g++)
            {
                int row = t * group + g;
                float inv = runSum[row] > 0 ? 1f / runSum[row] : 0f;
                Elementwise.ScaleTo(output + t * outputStride + (long)g * headDimV, acc + (long)row * headDimV, inv, headDimV);
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

    /// <summary>
    /// f16 keys straight from the cache into the transposed tile: eight halves of eight cells are widened and
    /// transposed in registers (missing cells of a short tile are zero).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void TransposeF16(byte* data, long rowBytes, long offset, ReadOnlySpan<int> cells, int dim, float* kT)
    {
        int n = cells.Length;
        ushort** src = stackalloc ushort*[Tile];
        ushort* zero = stackalloc ushort[8];
        Vector128<ushort>.Zero.Store(zero);
        for (int j = 0; j < Tile; j++) src[j] = j < n ? (ushort*)(data + cells[j] * rowBytes + offset) : null;
        TransposeRows<ushort, HalfRows>(src, zero, dim, kT);
    }

    /// <summary>Eight elements of one row as f32 bits (the zero row stands in for missing cells).</summary>
    private interface IRowLoader<T> where T : unmanaged
    {
        static abstract Vector256<int> Load8(T* row, int d, T* zero);
    }

    private readonly struct HalfRows : IRowLoader<ushort>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Load8(ushort* row, int d, ushort* zero) => HalfVector.F16ToSingle(Vector128.Load(row != null ? row + d : zero)).AsInt32();
    }

    private readonly struct FloatRows : IRowLoader<float>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Load8(float* row, int d, float* zero) => Vector256.Load(row != null ? row + d : zero).AsInt32();
    }

    /// <summary>Tile rows (null = missing cell) to [dimension][cell] by 8×8 register transposes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransposeRows<T, TLoader>(T** src, T* zero, int dim, float* kT) where T : unmanaged where TLoader : IRowLoader<T>
    {
        for (int c = 0; c < Tile; c += 8)
        {
            for (int d = 0; d < dim; d += 8)
            {
                var i0 = TLoader.Load8(src[c], d, zero); var i1 = TLoader.Load8(src[c + 1], d, zero);
                var i2 = TLoader.Load8(src[c + 2], d, zero); var i3 = TLoader.Load8(src[c + 3], d, zero);
                var i4 = TLoader.Load8(src[c + 4], d, zero); var i5 = TLoader.Load8(src[c + 5], d, zero);
                var i6 = TLoader.Load8(src[c + 6], d, zero); var i7 = TLoader.Load8(src[c + 7], d, zero);
                PanelTranspose.Transpose8x8(ref i0, ref i1, ref i2, ref i3, ref i4, ref i5, ref i6, ref i7);
                StoreColumns(kT + d * Tile + c, i0, i1, i2, i3, i4, i5, i6, i7);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreColumns(float* dst, Vector256<int> i0, Vector256<int> i1, Vector256<int> i2, Vector256<int> i3,
        Vector256<int> i4, Vector256<int> i5, Vector256<int> i6, Vector256<int> i7)
    {
        i0.AsSingle().Store(dst);
        i1.AsSingle().Store(dst + Tile);
        i2.AsSingle().Store(dst + 2 * Tile);
        i3.AsSingle().Store(dst + 3 * Tile);
        i4.AsSingle().Store(dst + 4 * Tile);
        i5.AsSingle().Store(dst + 5 * Tile);
        i6.AsSingle().Store(dst + 6 * Tile);
        i7.AsSingle().Store(dst + 7 * Tile);
    }

    /// <summary>The tile's f32 key rows as [dimension][cell] by 8×8 register transposes (missing cells zero).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Transpose(float** kRows, int n, int dim, float* kT)
    {
        float* zero = stackalloc float[8];
        Vector256<float>.Zero.Store(zero);
        float** src = stackalloc float*[Tile];
        for (int j = 0; j < Tile; j++) src[j] = j < n ? kRows[j] : null;
        TransposeRows<float, FloatRows>(src, zero, dim, kT);
    }

    /// <summary>scores[i·Tile + j] = scale · q_i·k_j for up to four query rows and all 32 cells of a transposed tile.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ScoresTransposed(float* q, int count, int dim, float* kT, float scale, float* scores)
    {
        float* q0 = q, q1 = q + (count > 1 ? dim : 0), q2 = q + (count > 2 ? 2 * dim : 0), q3 = q + (count > 3 ? 3 * dim : 0);
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector256<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector256<float> a30 = default, a31 = default, a32 = default, a33 = default;
        for (int d = 0; d < dim; d++)
        {
            float* k = kT + d * Tile;
            var k0 = Vector256.Load(k);
            var k1 = Vector256.Load(k + 8);
            var k2 = Vector256.Load(k + 16);
            var k3 = Vector256.Load(k + 24);
            var b = Vector256.Create(q0[d]);
            a00 = Vector256.FusedMultiplyAdd(b, k0, a00); a01 = Vector256.FusedMultiplyAdd(b, k1, a01);
            a02 = Vector256.FusedMultiplyAdd(b, k2, a02); a03 = Vector256.FusedMultiplyAdd(b, k3, a03);
            b = Vector256.Create(q1[d]);
            a10 = Vector256.FusedMultiplyAdd(b, k0, a10); a11 = Vector256.FusedMultiplyAdd(b, k1, a11);
            a12 = Vector256.FusedMultiplyAdd(b, k2, a12); a13 = Vector256.FusedMultiplyAdd(b, k3, a13);
            b = Vector256.Create(q2[d]);
            a20 = Vector256.FusedMultiplyAdd(b, k0, a20); a21 = Vector256.FusedMultiplyAdd(b, k1, a21);
            a22 = Vector256.FusedMultiplyAdd(b, k2, a22); a23 = Vector256.FusedMultiplyAdd(b, k3, a23);
            b = Vector256.Create(q3[d]);
            a30 = Vector256.FusedMultiplyAdd(b, k0, a30); a31 = Vector256.FusedMultiplyAdd(b, k1, a31);
            a32 = Vector256.FusedMultiplyAdd(b, k2, a32); a33 = Vector256.FusedMultiplyAdd(b, k3, a33);
        }
        var sv = Vector256.Create(scale);
        StoreRow(scores, a00 * sv, a01 * sv, a02 * sv, a03 * sv);
        if (count > 1) StoreRow(scores + Tile, a10 * sv, a11 * sv, a12 * sv, a13 * sv);
        if (count > 2) StoreRow(scores + 2 * Tile, a20 * sv, a21 * sv, a22 * sv, a23 * sv);
        if (count > 3) StoreRow(scores + 3 * Tile, a30 * sv, a31 * sv, a32 * sv, a33 * sv);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(float* s, Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        a.Store(s);
        b.Store(s + 8);
        c.Store(s + 16);
        d.Store(s + 24);
    }

    /// <summary>
    /// Online softmax step for up to four rows over cells lo..hi−1 of the tile: scores become weights (zero outside the
    /// range), running max and sum advance, and each row's factor for rescaling its accumulator goes to
    /// <paramref name="corrections"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SoftmaxRows(float* scores, int count, int lo, int hi, float* runMax, float* runSum, float* corrections)
    {
        var index = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7);
        var low = Vector256.Create(lo);
        var high = Vector256.Create(hi);
        var in0 = Valid(index, low, high);
        var in1 = Valid(index + Vector256.Create(8), low, high);
        var in2 = Valid(index + Vector256.Create(16), low, high);
        var in3 = Valid(index + Vector256.Create(24), low, high);
        var minusInf = Vector256.Create(float.NegativeInfinity);
        for (int i = 0; i < count; i++)
        {
            float* s = scores + i * Tile;
            var s0 = Vector256.ConditionalSelect(in0, Vector256.Load(s), minusInf);
            var s1 = Vector256.ConditionalSelect(in1, Vector256.Load(s + 8), minusInf);
            var s2 = Vector256.ConditionalSelect(in2, Vector256.Load(s + 16), minusInf);
            var s3 = Vector256.ConditionalSelect(in3, Vector256.Load(s + 24), minusInf);
            var m = Vector256.Max(Vector256.Max(s0, s1), Vector256.Max(s2, s3));
            var m128 = Vector128.Max(m.GetLower(), m.GetUpper());
            m128 = Vector128.Max(m128, Vector128.Shuffle(m128, Vector128.Create(2, 3, 0, 1)));
            m128 = Vector128.Max(m128, Vector128.Shuffle(m128, Vector128.Create(1, 0, 3, 2)));
            float newMax = MathF.Max(runMax[i], m128.ToScalar());
            if (float.IsNegativeInfinity(newMax) || float.IsNaN(newMax))
            {
                // Every score so far is −∞ (masked by the model): nothing to weigh yet.
                StoreRow(s, default, default, default, default);
                corrections[i] = 1;
                continue;
            }
            var mv = Vector256.Create(newMax);
            var p0 = Vector256.ConditionalSelect(in0, FastExp.Exp(s0 - mv), default);
            var p1 = Vector256.ConditionalSelect(in1, FastExp.Exp(s1 - mv), default);
            var p2 = Vector256.ConditionalSelect(in2, FastExp.Exp(s2 - mv), default);
            var p3 = Vector256.ConditionalSelect(in3, FastExp.Exp(s3 - mv), default);
            StoreRow(s, p0, p1, p2, p3);
            float correction = FastExp.ExpScalar(runMax[i] - newMax);
            runSum[i] = runSum[i] * correction + Vector256.Sum((p0 + p1) + (p2 + p3));
            runMax[i] = newMax;
            corrections[i] = correction;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Valid(Vector256<int> index, Vector256<int> low, Vector256<int> high) =>
        (Vector256.GreaterThanOrEqual(index, low) & Vector256.LessThan(index, high)).AsSingle();

    /// <summary>acc_i = corrections_i·acc_i + Σ_j weight_ij · v_j for up to four rows.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AccumulateValues(float* weights, int count, int lo, int hi, float** vRows, int dimV, float* acc, float* corrections)
    {
        float* w0 = weights, w1 = weights + (count > 1 ? Tile : 0), w2 = weights + (count > 2 ? 2 * Tile : 0), w3 = weights + (count > 3 ? 3 * Tile : 0);
        var c0 = Vector256.Create(corrections[0]);
        var c1 = Vector256.Create(count > 1 ? corrections[1] : 1);
        var c2 = Vector256.Create(count > 2 ? corrections[2] : 1);
        var c3 = Vector256.Create(count > 3 ? corrections[3] : 1);
        float* r1 = acc + (count > 1 ? dimV : 0), r2 = acc + (count > 2 ? 2 * dimV : 0), r3 = acc + (count > 3 ? 3 * dimV : 0);
        for (int c = 0; c < dimV; c += 8)
        {
            var o0 = Vector256.Load(acc + c) * c0;
            var o1 = Vector256.Load(r1 + c) * c1;
            var o2 = Vector256.Load(r2 + c) * c2;
            var o3 = Vector256.Load(r3 + c) * c3;
            for (int j = lo; j < hi; j++)
            {
                var v = Vector256.Load(vRows[j] + c);
                o0 = Vector256.FusedMultiplyAdd(Vector256.Create(w0[j]), v, o0);
                o1 = Vector256.FusedMultiplyAdd(Vector256.Create(w1[j]), v, o1);
                o2 = Vector256.FusedMultiplyAdd(Vector256.Create(w2[j]), v, o2);
                o3 = Vector256.FusedMultiplyAdd(Vector256.Create(w3[j]), v, o3);
            }
            // Rows past count alias row 0's memory: store them first so row 0's value wins.
            if (count > 3) o3.Store(r3 + c);
            if (count > 2) o2.Store(r2 + c);
            if (count > 1) o1.Store(r1 + c);
            o0.Store(acc + c);
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
