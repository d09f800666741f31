using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Models.Parts;

/// <summary>
/// The decompressed form, as the paper's formulas read: every token's latent becomes per-head keys [k_nope, k_pe] and
/// values through W_UK and W_UV, which the cache holds, and attention is ordinary multi-head attention over them.
/// </summary>
internal sealed unsafe partial class LatentAttentionPart
{
    private void RunNaive(PassState s, in Layout layout)
    {
        var spec = _spec;
        int n = s.Tokens;
        if (spec.Layout == LatentLayout.Combined)
        {
            // kv_b decompresses every head's k_nope and v in one product.
            s.MatMul.Multiply(s.Pool, _decompress, layout.Compact, n, layout.Decompressed);
        }
        else
        {
            s.Parallel(this, OpDecompressHead, spec.Heads);
        }
        s.Parallel(this, OpAssembleRows, n);
        s.Phase(PassState.PhaseRopeStore);
        s.Parallel(this, OpAttendHeads, s.Blocks * spec.Heads);
        s.Phase(PassState.PhaseAttention);
    }

    /// <summary>
    /// One head's k_nope and v for every token (split layout), into the rows to cache. attn_k_b holds W_UKᵀ, so k_nope
    /// is a transposed product; both run in f32 (this layout's absorbed form rounds the queries and the attention
    /// output to 8 bits, its decompressed form rounds nothing).
    /// </summary>
    private void DecompressHead(PassState s, in Layout layout, int head, int thread)
    {
        var spec = _spec;
        float* scratch = s.AttentionScratch.Pointer + thread * s.AttentionScratchFloats;
        WidenedProduct.MultiplyTransposed(_keyUp[head], layout.Compact, spec.KvLoraRank, s.Tokens,
            layout.Keys + (long)head * spec.QueryHeadDim, spec.QueryWidth, scratch);
        WidenedProduct.Multiply(_valueUp[head], layout.Compact, spec.KvLoraRank, s.Tokens,
            layout.Values + (long)head * spec.ValueDim, (long)spec.Heads * spec.ValueDim, scratch);
    }

    /// <summary>A token's per-head key rows [k_nope, k_pe] and value rows, written to the cache.</summary>
    private void AssembleRows(PassState s, in Layout layout, int token)
    {
        var spec = _spec;
        float* keys = layout.Keys + (long)token * spec.QueryWidth;
        float* values = layout.Values + (long)token * spec.Heads * spec.ValueDim;
        float* kpe = layout.Latent + (long)token * spec.LatentWidth + spec.KvLoraRank;
        long nope = spec.NopeDim * sizeof(float), rope = spec.RopeDim * sizeof(float), value = spec.ValueDim * sizeof(float);
        for (int i = 0; i < spec.Heads; i++)
        {
            float* key = keys + (long)i * spec.QueryHeadDim;
            if (spec.Layout == LatentLayout.Combined)
            {
                float* row = layout.Decompressed + ((long)token * spec.Heads + i) * (spec.NopeDim + spec.ValueDim);
                Buffer.MemoryCopy(row, key, nope, nope);
                Buffer.MemoryCopy(row + spec.NopeDim, values + (long)i * spec.ValueDim, value, value);
            }
            Buffer.MemoryCopy(kpe, key + spec.NopeDim, rope, rope);
        }
        var (group, g, local) = s.Cache!.Layer(_layer);
        int slot = s.PlacementOffset + token;
        int stream = s.Placement!.Streams[g][slot], cell = s.Placement.Cells[g][slot];
        group.StoreK(stream, local, cell, keys);
        group.StoreV(stream, local, cell, values);
    }

    /// <summary>Ordinary attention of one block of tokens and one head over the decompressed keys and values.</summary>
    private void AttendHeads(PassState s, in Layout layout, int index, int thread)
    {
        var spec = _spec;
        int block = index / spec.Heads, head = index % spec.Heads;
        BlockAttention.Run(s, _layer, block, thread, layout.Query + (long)head * spec.QueryHeadDim, spec.QueryWidth,
            s.Attn.Pointer + (long)head * spec.ValueDim, spec.OutputWidth, 1, spec.QueryHeadDim, spec.ValueDim, head, spec.Scale);
    }
}
