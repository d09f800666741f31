using SharpInfer.Kernels;
using SharpInfer.KvCache;

namespace SharpInfer.Models;

/// <summary>How the latent-to-head projections of Multi-head Latent Attention are stored.</summary>
public enum LatentLayout
{
    /// <summary>One <c>attn_kv_b</c> per layer, {kv_lora_rank, n_head × (qk_nope + v)} (older llama.cpp conversions).</summary>
    Combined,

    /// <summary>
    /// <c>attn_k_b</c> {qk_nope, kv_lora_rank, n_head} and <c>attn_v_b</c> {kv_lora_rank, v, n_head} (llama.cpp's
    /// converter since its MLA work): W_UK stored transposed per head, ready to be folded into the queries.
    /// </summary>
    Split,
}

/// <summary>
/// Multi-head Latent Attention (DeepSeek-V2/V3): queries through an optional low-rank compression
/// (<c>attn_q_a</c>, RMSNorm, <c>attn_q_b</c>) or one <c>attn_q</c>; keys and values from one compressed latent c_kv
/// (<c>attn_kv_a_mqa</c>, RMSNorm) plus a decoupled key part k_pe shared by all heads; RoPE on the qk_rope part of
/// queries and on k_pe only (adjacent pairs, YaRN as DeepSeek defines it); per head, keys are [k_nope, k_pe] and
/// values v, both decompressed from c_kv. <see cref="MlaMode"/> chooses whether the cache holds the latent rows or the
/// decompressed heads.
/// </summary>
public sealed record LatentAttentionSpec : AttentionSpec
{
    /// <summary>Query heads.</summary>
    public required int Heads { get; init; }
    /// <summary>Rank of the query compression (0: no compression, one <c>attn_q</c>).</summary>
    public int QueryLoraRank { get; init; }
    /// <summary>Rank of the key/value compression (the latent's width).</summary>
    public required int KvLoraRank { get; init; }
    /// <summary>Elements per head of the keys and queries without position (qk_nope).</summary>
    public required int NopeDim { get; init; }
    /// <summary>Elements per value head.</summary>
    public required int ValueDim { get; init; }
    /// <summary>RoPE of the qk_rope part (its <see cref="RopeParameters.Dims"/> is qk_rope).</summary>
    public required RopeParameters Rope { get; init; }
    /// <summary>Multiplier of q·k: mscale² / √(qk_nope + qk_rope).</summary>
    public required float Scale { get; init; }
    /// <summary>How the latent-to-head projections are stored.</summary>
    public required LatentLayout Layout { get; init; }
    /// <summary>Epsilon of the RMSNorms of the compressed query and of the latent.</summary>
    public required float NormEpsilon { get; init; }

    /// <summary>Elements of the rotated part (qk_rope).</summary>
    public int RopeDim => Rope.Dims;
    /// <summary>Elements per query head: qk_nope + qk_rope.</summary>
    public int QueryHeadDim => NopeDim + RopeDim;
    /// <summary>Width of the queries of one token.</summary>
    public int QueryWidth => Heads * QueryHeadDim;
    /// <summary>Width of <c>attn_kv_a_mqa</c>'s output and of a latent cache row: kv_lora_rank + qk_rope.</summary>
    public int LatentWidth => KvLoraRank + RopeDim;

    /// <inheritdoc />
    public override int OutputWidth => Heads * ValueDim;

    /// <inheritdoc />
    public override KvLayerSpec Cache => CacheFor(MlaMode.Absorb);

    /// <inheritdoc />
    public override KvLayerSpec CacheFor(MlaMode mode) => mode == MlaMode.Absorb
        // One row [c_kv, k_pe] per cell and no V: the values are the row's first kv_lora elements. Only k_pe rotates.
        ? new(new KvLayerShape(LatentWidth, 0, LatentWidth, KvLoraRank), Rotation: new KvRotation(Rope, 1, LatentWidth, KvLoraRank))
        // Per head a key [k_nope, k_pe] and a value: each head's key rotates in its tail.
        : new(new KvLayerShape(QueryWidth, Heads * ValueDim, QueryHeadDim, ValueDim), Rotation: new KvRotation(Rope, Heads, QueryHeadDim, NopeDim));

    /// <inheritdoc />
    public override RotarySpec Rotary => new(Rope);

    /// <inheritdoc />
    public override IEnumerable<TensorSpec> Tensors(int layer, int embedding)
    {
        string p = $"blk.{layer}.";
        if (QueryLoraRank > 0)
        {
            yield return new(p + "attn_q_a.weight", [embedding, QueryLoraRank], TensorRole.Matrix);
            yield return new(p + "attn_q_a_norm.weight", [QueryLoraRank], TensorRole.Norm);
            yield return new(p + "attn_q_b.weight", [QueryLoraRank, QueryWidth], TensorRole.Matrix);
        }
        else
        {
            yield return new(p + "attn_q.weight", [embedding, QueryWidth], TensorRole.Matrix);
        }
        yield return new(p + "attn_kv_a_mqa.weight", [embedding, LatentWidth], TensorRole.Matrix);
        yield return new(p + "attn_kv_a_norm.weight", [KvLoraRank], TensorRole.Norm);
        if (Layout == LatentLayout.Combined)
        {
            yield return new(p + "attn_kv_b.weight", [KvLoraRank, (long)Heads * (NopeDim + ValueDim)], TensorRole.Matrix);
        }
        else
        {
            yield return new(p + "attn_k_b.weight", [NopeDim, KvLoraRank, Heads], TensorRole.Matrix);
            yield return new(p + "attn_v_b.weight", [KvLoraRank, ValueDim, Heads], TensorRole.Matrix);
        }
        yield return new(p + "attn_output.weight", [OutputWidth, embedding], TensorRole.Matrix);
    }
}
