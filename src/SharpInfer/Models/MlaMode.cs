namespace SharpInfer.Models;

/// <summary>
/// How Multi-head Latent Attention (DeepSeek-V2/V3) is computed, and therefore what its KV cache holds. Both give the
/// same logits; they differ in cache size and in the work per token.
/// </summary>
public enum MlaMode
{
    /// <summary>
    /// The cache holds, per token and layer, only the normalised latent c_kv and the rotated k_pe: one row shared by
    /// all heads. W_UK is folded into each query and W_UV applied after attention, so attention runs over the latent
    /// rows (one key/value head whose values are the latent itself).
    /// </summary>
    Absorb,

    /// <summary>Latents are decompressed into per-head keys and values, which the cache holds, as the paper's formulas read.</summary>
    Naive,
}
