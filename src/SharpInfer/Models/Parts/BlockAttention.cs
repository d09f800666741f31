using SharpInfer.Kernels;

namespace SharpInfer.Models.Parts;

/// <summary>
/// Attention of one attention block (consecutive tokens of one sequence, see <see cref="PassState.BlockFirst"/>) over
/// its sequence's cached cells in one layer: the view of the layer's rows, each token's visible cell range (causal,
/// windowed) and the flash kernel with this thread's scratch. The attention parts differ only in where their
/// queries and outputs live and which key/value head they read.
/// </summary>
internal static unsafe class BlockAttention
{
    /// <summary>
    /// Runs <paramref name="group"/> query heads of every token of <paramref name="block"/> against key/value head
    /// <paramref name="kvHead"/>: token t's queries at q + t·qStride, its outputs at output + t·outputStride (t counted
    /// from the pass's first token). With <paramref name="valuesInKeys"/> the values are the first elements of the key
    /// rows (a latent MLA cache).
    /// </summary>
    public static void Run(PassState s, int layer, int block, int thread, float* q, long qStride, float* output, long outputStride,
        int group, int headDimK, int headDimV, int kvHead, float scale, float softcap = 0f, bool valuesInKeys = false)
    {
        int first = s.BlockFirst[block], count = s.BlockCount[block], seq = s.TokenSeq[first];
        var (cache, _, local) = s.Cache!.Layer(layer);
        var stream = cache.StreamOf(seq);
        var view = valuesInKeys
            ? KvLayerView.ValuesInKeys(stream.KRow(local, 0), stream.KRowBytes[local], stream.TypeK)
            : new KvLayerView(stream.KRow(local, 0), stream.KRowBytes[local], stream.TypeK, stream.VRow(local, 0), stream.VRowBytes[local], stream.TypeV);
        int* from = stackalloc int[FlashAttention.MaxTokens];
        int* to = stackalloc int[FlashAttention.MaxTokens];
        for (int t = 0; t < count; t++) (from[t], to[t]) = cache.VisibleRange(seq, s.TokenPos[first + t]);
        float* scratch = s.AttentionScratch.Pointer + thread * s.AttentionScratchFloats;
        FlashAttention.Compute(q + first * qStride, qStride, count, group, headDimK, headDimV, view, kvHead, cache.SequenceCells(seq),
            from, to, scale, output + first * outputStride, outputStride, scratch, softcap);
    }
}
