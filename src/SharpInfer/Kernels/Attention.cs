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

    /// <summary>
    /// A view whose values are the first elements of each key row (a latent MLA cache: one row per cell holding
    /// c_kv then k_pe, where the values are c_kv).
    /// </summary>
    public static KvLayerView ValuesInKeys(byte* rows, long rowBytes, GgmlType type) => new(rows, rowBytes, type, rows, rowBytes, type);

    /// <summary>Whether the values are read from the key rows themselves.</summary>
    public bool SharesRows => V == K && VRowBytes == KRowBytes && TypeV == TypeK;
}

/// <summary>
/// The reference attention that <see cref="FlashAttention"/> is checked against: for the query heads that share one
/// key/value head, every score is materialised, softmax runs in double precision, then the weighted value sum.
/// </summary>
public static unsafe class Attention
{
    /// <summary>
    /// out[g] = softmax(scale · q[g]·Kᵀ) · V over <paramref name="cells"/>, for the <paramref name="group"/> query heads
    /// at <paramref name="q"/> (contiguous, <paramref name="headDimK"/> each) that read KV head <paramref name="kvHead"/>.
    /// With no visible cell the output is zero. A positive <paramref name="softcap"/> c caps each score to c·tanh(s/c).
    /// </summary>
    public static void ComputeScalar(float* q, int group, int headDimK, int headDimV, KvLayerView kv, int kvHead,
        ReadOnlySpan<int> cells, float scale, float* output, float softcap = 0f)
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
                    if (softcap > 0) s[j] = softcap * Math.Tanh(s[j] / softcap);
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
