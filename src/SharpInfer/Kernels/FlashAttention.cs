using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>
/// Flash-style attention for a block of query tokens of one sequence and one KV head, with all the query heads that
/// share it (rows = tokens × group). Cells are visited in tiles: each tile's keys and values are widened once to f32
/// (f32 caches are read in place) and then serve every row, so prefill converts the cache once per query block rather
/// than once per token. Scores go through an online softmax (running max and sum per row) and the weighted values
/// accumulate on the fly: no score matrix over the context is formed. Each token sees a contiguous range of the
/// sequence's position-sorted cells (causal and sliding-window masks are ranges); tiles outside a row's range are
/// skipped for that row. Vector256 arithmetic (attention is a few percent of the work next to the matrix products);
/// <see cref="Attention.ComputeScalar"/> is the reference twin.
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
        return Tile * (long)headDimK + Tile * (long)headDimV + rows * Tile + rows * headDimV + 2 * rows + 2 * Tile * 2 + 64;
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
        float* vTile = kTile + Tile * headDimK;
        float* scores = vTile + Tile * headDimV;
        float* acc = scores + rows * Tile;
        float* runMax = acc + rows * headDimV;
        float* runSum = runMax + rows;
        float** kRows = (float**)(((nint)(runSum + rows) + 63) & ~(nint)63);
        float** vRows = kRows + Tile;
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
        long kOffset = GgmlTypeInfo.RowBytes(kv.TypeK, (long)kvHead * headDimK);
        long vOffset = GgmlTypeInfo.RowBytes(kv.TypeV, (long)kvHead * headDimV);
        for (int start = first; start < last; start += Tile)
        {
            int n = Math.Min(Tile, last - start);
            Widen(kv.K, kv.KRowBytes, kOffset, kv.TypeK, cells.Slice(start, n), headDimK, kTile, kRows);
            Widen(kv.V, kv.VRowBytes, vOffset, kv.TypeV, cells.Slice(start, n), headDimV, vTile, vRows);
            for (int t = 0; t < tokens; t++)
            {
                int lo = Math.Max(from[t] - start, 0), hi = Math.Min(to[t] - start, n);
                if (lo >= hi) continue;
                for (int g = 0; g < group; g += 4)
                {
                    int count = Math.Min(4, group - g);
                    int row = t * group + g;
                    Scores(q + t * qStride + (long)g * headDimK, count, headDimK, kRows, lo, hi, scale, scores + row * Tile);
                    for (int i = 0; i < count; i++)
                    {
                        Softmax(scores + (row + i) * Tile, lo, hi, ref runMax[row + i], ref runSum[row + i], acc + (long)(row + i) * headDimV, headDimV);
                    }
                    AccumulateValues(scores + row * Tile, count, lo, hi, vRows, headDimV, acc + (long)row * headDimV);
                }
            }
        }
        for (int t = 0; t < tokens; t++)
        {
            for (int g = 0; g < group; g++)
            {
                int row = t * group + g;
                float inv = runSum[row] > 0 ? 1f / runSum[row] : 0f;
                float* o = output + t * outputStride + (long)g * headDimV;
                float* a = acc + (long)row * headDimV;
                Elementwise.ScaleTo(o, a, inv, headDimV);
            }
        }
    }

    /// <summary>Points <paramref name="rows"/> at each cell's f32 head vector, widening into <paramref name="tile"/> unless stored as f32.</summary>
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

    /// <summary>scores[i·Tile + j] = scale · q_i·k_j for up to four query rows and cells lo..hi−1.</summary>
    private static void Scores(float* q, int count, int dim, float** kRows, int lo, int hi, float scale, float* scores)
    {
        if (!Vector256.IsHardwareAccelerated || dim % 8 != 0)
        {
            for (int i = 0; i < count; i++)
            {
                for (int j = lo; j < hi; j++) scores[i * Tile + j] = Dot.F32(q + i * dim, kRows[j], dim) * scale;
            }
            return;
        }
        if (count == 1)
        {
            for (int j = lo; j < hi; j++)
            {
                float* k = kRows[j];
                Vector256<float> a = default, b = default;
                int d = 0;
                for (; d + 16 <= dim; d += 16)
                {
                    a = Vector256.FusedMultiplyAdd(Vector256.Load(q + d), Vector256.Load(k + d), a);
                    b = Vector256.FusedMultiplyAdd(Vector256.Load(q + d + 8), Vector256.Load(k + d + 8), b);
                }
                if (d < dim) a = Vector256.FusedMultiplyAdd(Vector256.Load(q + d), Vector256.Load(k + d), a);
                scores[j] = Vector256.Sum(a + b) * scale;
            }
            return;
        }
        float* q0 = q, q1 = q + dim, q2 = q + (count > 2 ? 2 * dim : dim), q3 = q + (count > 3 ? 3 * dim : dim);
        for (int j = lo; j < hi; j++)
        {
            float* k = kRows[j];
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int d = 0; d < dim; d += 8)
            {
                var kv = Vector256.Load(k + d);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(q0 + d), kv, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(q1 + d), kv, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Load(q2 + d), kv, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Load(q3 + d), kv, a3);
            }
            var sums = HorizontalSums(a0, a1, a2, a3) * Vector128.Create(scale);
            scores[j] = sums.GetElement(0);
            if (count > 1) scores[Tile + j] = sums.GetElement(1);
            if (count > 2) scores[2 * Tile + j] = sums.GetElement(2);
            if (count > 3) scores[3 * Tile + j] = sums.GetElement(3);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> HorizontalSums(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3)
    {
        // Fold each vector's halves, then transpose-add the four 128-bit partial sums.
        var b0 = a0.GetLower() + a0.GetUpper();
        var b1 = a1.GetLower() + a1.GetUpper();
        var b2 = a2.GetLower() + a2.GetUpper();
        var b3 = a3.GetLower() + a3.GetUpper();
        var t0 = Vector128.Create(b0.GetElement(0), b1.GetElement(0), b2.GetElement(0), b3.GetElement(0));
        var t1 = Vector128.Create(b0.GetElement(1), b1.GetElement(1), b2.GetElement(1), b3.GetElement(1));
        var t2 = Vector128.Create(b0.GetElement(2), b1.GetElement(2), b2.GetElement(2), b3.GetElement(2));
        var t3 = Vector128.Create(b0.GetElement(3), b1.GetElement(3), b2.GetElement(3), b3.GetElement(3));
        return (t0 + t1) + (t2 + t3);
    }

    /// <summary>Online softmax step of one row over cells lo..hi−1: scores become weights, the accumulator is rescaled.</summary>
    private static void Softmax(float* s, int lo, int hi, ref float runMax, ref float runSum, float* acc, int dimV)
    {
        float tileMax = float.NegativeInfinity;
        for (int j = lo; j < hi; j++) tileMax = MathF.Max(tileMax, s[j]);
        float newMax = MathF.Max(runMax, tileMax);
        if (float.IsNegativeInfinity(newMax))
        {
            // Every score so far is −∞ (masked by the model): nothing to weigh yet.
            for (int j = lo; j < hi; j++) s[j] = 0;
            return;
        }
        float correction = MathF.Exp(runMax - newMax);
        float sum = 0;
        int k = lo;
        if (Vector256.IsHardwareAccelerated)
        {
            var m = Vector256.Create(newMax);
            var total = Vector256<float>.Zero;
            for (; k + 8 <= hi; k += 8)
            {
                var p = Vector256.Exp(Vector256.Load(s + k) - m);
                p.Store(s + k);
                total += p;
            }
            sum = Vector256.Sum(total);
        }
        for (; k < hi; k++)
        {
            float p = MathF.Exp(s[k] - newMax);
            s[k] = p;
            sum += p;
        }
        runSum = runSum * correction + sum;
        runMax = newMax;
        if (correction != 1f) Elementwise.Scale(acc, correction, dimV);
    }

    /// <summary>acc_i += Σ_j weight_ij · v_j for up to four rows.</summary>
    private static void AccumulateValues(float* weights, int count, int lo, int hi, float** vRows, int dimV, float* acc)
    {
        if (!Vector256.IsHardwareAccelerated || dimV % 8 != 0)
        {
            for (int i = 0; i < count; i++)
            {
                for (int j = lo; j < hi; j++) Elementwise.MultiplyAdd(acc + i * dimV, vRows[j], weights[i * Tile + j], dimV);
            }
            return;
        }
        float* w0 = weights, w1 = weights + (count > 1 ? Tile : 0), w2 = weights + (count > 2 ? 2 * Tile : 0), w3 = weights + (count > 3 ? 3 * Tile : 0);
        for (int c = 0; c < dimV; c += 8)
        {
            Vector256<float> o0 = Vector256.Load(acc + c);
            Vector256<float> o1 = count > 1 ? Vector256.Load(acc + dimV + c) : default;
            Vector256<float> o2 = count > 2 ? Vector256.Load(acc + 2 * dimV + c) : default;
            Vector256<float> o3 = count > 3 ? Vector256.Load(acc + 3 * dimV + c) : default;
            for (int j = lo; j < hi; j++)
            {
                var v = Vector256.Load(vRows[j] + c);
                o0 = Vector256.FusedMultiplyAdd(Vector256.Create(w0[j]), v, o0);
                o1 = Vector256.FusedMultiplyAdd(Vector256.Create(w1[j]), v, o1);
                o2 = Vector256.FusedMultiplyAdd(Vector256.Create(w2[j]), v, o2);
                o3 = Vector256.FusedMultiplyAdd(Vector256.Create(w3[j]), v, o3);
            }
            o0.Store(acc + c);
            if (count > 1) o1.Store(acc + dimV + c);
            if (count > 2) o2.Store(acc + 2 * dimV + c);
            if (count > 3) o3.Store(acc + 3 * dimV + c);
        }
    }
}
