using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>Where one layer's cached keys and values live, for the attention kernel.</summary>
public readonly unsafe struct KvLayerView
{
    /// <summary>Describes a layer of a cache pool.</summary>
    public KvLayerView(byte* k, long kRowBytes, GgmlType typeK, byte* v, long vRowBytes, GgmlType typeV)
    {
        K = k;
        KRowBytes = kRowBytes;
        TypeK = typeK;
        V = v;
        VRowBytes = vRowBytes;
        TypeV = typeV;
    }

    /// <summary>K row of cell 0.</summary>
    public byte* K { get; }
    /// <summary>Bytes between K rows.</summary>
    public long KRowBytes { get; }
    /// <summary>Key storage type.</summary>
    public GgmlType TypeK { get; }
    /// <summary>V row of cell 0.</summary>
    public byte* V { get; }
    /// <summary>Bytes between V rows.</summary>
    public long VRowBytes { get; }
    /// <summary>Value storage type.</summary>
    public GgmlType TypeV { get; }
}

/// <summary>
/// Flash-style attention for the query heads that share one key/value head: keys and values are visited in
/// tiles of cells, scores go through an online softmax (running max and sum), and the weighted value sum is
/// accumulated on the fly, so no score matrix over the whole context is ever formed. Keys and values are read
/// in their stored type (f32 in place, anything else widened tile by tile).
/// </summary>
public static unsafe class Attention
{
    /// <summary>Cells per tile.</summary>
    public const int Tile = 32;

    /// <summary>Floats of scratch one call needs.</summary>
    public static int ScratchFloats(int group, int headDimK, int headDimV) => Tile * headDimK + Tile * headDimV + group * Tile + group * headDimV + 2 * group;

    /// <summary>
    /// out[g] = softmax(scale · q[g]·Kᵀ) · V over <paramref name="cells"/>, for the <paramref name="group"/> query heads
    /// at <paramref name="q"/> (contiguous, <paramref name="headDimK"/> each) that read KV head <paramref name="kvHead"/>.
    /// With no visible cell the output is zero.
    /// </summary>
    public static void Compute(float* q, int group, int headDimK, int headDimV, KvLayerView kv, int kvHead,
        ReadOnlySpan<int> cells, float scale, float* output, float* scratch)
    {
        float* kTile = scratch;
        float* vTile = kTile + Tile * headDimK;
        float* scores = vTile + Tile * headDimV;
        float* acc = scores + group * Tile;
        float* runningMax = acc + group * headDimV;
        float* runningSum = runningMax + group;
        for (int g = 0; g < group; g++)
        {
            runningMax[g] = float.NegativeInfinity;
            runningSum[g] = 0;
        }
        new Span<float>(acc, group * headDimV).Clear();

        long kOffset = GgmlTypeInfo.RowBytes(kv.TypeK, (long)kvHead * headDimK);
        long vOffset = GgmlTypeInfo.RowBytes(kv.TypeV, (long)kvHead * headDimV);
        for (int start = 0; start < cells.Length; start += Tile)
        {
            int n = Math.Min(Tile, cells.Length - start);
            for (int j = 0; j < n; j++)
            {
                int cell = cells[start + j];
                Dequantize.Row(kv.TypeK, kv.K + cell * kv.KRowBytes + kOffset, kTile + j * headDimK, headDimK);
            }
            for (int g = 0; g < group; g++)
            {
                float* qg = q + g * headDimK;
                float* sg = scores + g * Tile;
                float tileMax = float.NegativeInfinity;
                for (int j = 0; j < n; j++)
                {
                    float s = Dot.F32(qg, kTile + j * headDimK, headDimK) * scale;
                    sg[j] = s;
                    if (s > tileMax) tileMax = s;
                }
                float newMax = MathF.Max(runningMax[g], tileMax);
                float correction = MathF.Exp(runningMax[g] - newMax);
                float sum = 0;
                for (int j = 0; j < n; j++)
                {
                    float p = MathF.Exp(sg[j] - newMax);
                    sg[j] = p;
                    sum += p;
                }
                runningSum[g] = runningSum[g] * correction + sum;
                runningMax[g] = newMax;
                if (correction != 1f) Elementwise.Scale(acc + g * headDimV, correction, headDimV);
            }
            for (int j = 0; j < n; j++)
            {
                int cell = cells[start + j];
                Dequantize.Row(kv.TypeV, kv.V + cell * kv.VRowBytes + vOffset, vTile + j * headDimV, headDimV);
            }
            for (int g = 0; g < group; g++)
            {
                float* sg = scores + g * Tile;
                float* ag = acc + g * headDimV;
                for (int j = 0; j < n; j++) Elementwise.MultiplyAdd(ag, vTile + j * headDimV, sg[j], headDimV);
            }
        }
        for (int g = 0; g < group; g++)
        {
            float* og = output + g * headDimV;
            float* ag = acc + g * headDimV;
            float inv = runningSum[g] > 0 ? 1f / runningSum[g] : 0f;
            for (int i = 0; i < headDimV; i++) og[i] = ag[i] * inv;
        }
    }

    /// <summary>
    /// Scalar reference twin: materialises every score, softmax in double, then the weighted sum.
    /// </summary>
    public static void ComputeScalar(float* q, int group, int headDimK, int headDimV, KvLayerView kv, int kvHead,
        ReadOnlySpan<int> cells, float scale, float* output)
    {
        var k = new float[headDimK];
        var v = new float[headDimV];
        long kOffset = GgmlTypeInfo.RowBytes(kv.TypeK, (long)kvHead * headDimK);
        long vOffset = GgmlTypeInfo.RowBytes(kv.TypeV, (long)kvHead * headDimV);
        for (int g = 0; g < group; g++)
        {
            var s = new double[cells.Length];
            double max = double.NegativeInfinity;
            for (int j = 0; j < cells.Length; j++)
            {
                fixed (float* kp = k)
                {
                    Dequantize.Row(kv.TypeK, kv.K + cells[j] * kv.KRowBytes + kOffset, kp, headDimK);
                    double dot = 0;
                    for (int i = 0; i < headDimK; i++) dot += (double)q[g * headDimK + i] * kp[i];
                    s[j] = dot * scale;
                }
                max = Math.Max(max, s[j]);
            }
            double total = 0;
            for (int j = 0; j < cells.Length; j++) total += s[j] = Math.Exp(s[j] - max);
            var outD = new double[headDimV];
            for (int j = 0; j < cells.Length; j++)
            {
                fixed (float* vp = v)
                {
                    Dequantize.Row(kv.TypeV, kv.V + cells[j] * kv.VRowBytes + vOffset, vp, headDimV);
                    for (int i = 0; i < headDimV; i++) outD[i] += s[j] / total * vp[i];
                }
            }
            for (int i = 0; i < headDimV; i++) output[g * headDimV + i] = cells.Length == 0 ? 0 : (float)outD[i];
        }
    }
}
