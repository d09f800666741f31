namespace SharpInfer.Models;

/// <summary>The hyper-parameters of a real model, for generating random-weight stand-ins of the same size.</summary>
/// <param name="Name">Shape name (<c>synth --shape</c>).</param>
/// <param name="Architecture">The family (<c>general.architecture</c>).</param>
/// <param name="EmbeddingLength">Residual width.</param>
/// <param name="Layers">Blocks.</param>
/// <param name="Heads">Query heads.</param>
/// <param name="KvHeads">Key/value heads.</param>
/// <param name="FeedForwardLength">Feed-forward hidden width.</param>
/// <param name="VocabSize">The real model's vocabulary size (the synthetic file takes its vocabulary's).</param>
/// <param name="ContextLength">Training context.</param>
/// <param name="RopeBase">RoPE frequency base.</param>
/// <param name="RmsEpsilon">RMSNorm epsilon.</param>
/// <param name="TiedEmbeddings">Output projection tied to the embeddings.</param>
/// <param name="Llama3RopeFactors">Write Llama 3.1's <c>rope_freqs.weight</c>.</param>
/// <param name="HeadDimension">Elements per head (0: n_embd / n_head).</param>
/// <param name="SlidingWindow">Sliding window of the family's window layers (0: none).</param>
/// <param name="Latent">Multi-head Latent Attention sizes (DeepSeek-V2/V3), or null.</param>
/// <param name="Experts">Mixture-of-experts sizes, or null.</param>
public sealed record ModelShape(
    string Name,
    string Architecture,
    int EmbeddingLength,
    int Layers,
    int Heads,
    int KvHeads,
    int FeedForwardLength,
    int VocabSize,
    int ContextLength,
    float RopeBase,
    float RmsEpsilon,
    bool TiedEmbeddings,
    bool Llama3RopeFactors = false,
    int HeadDimension = 0,
    int SlidingWindow = 0,
    LatentShape? Latent = null,
    ExpertShape? Experts = null)
{
    /// <summary>Shapes <c>synth</c> knows.</summary>
    public static IReadOnlyList<ModelShape> Known { get; } =
    [
        new("tinyllama-1.1b", "llama", 2048, 22, 32, 4, 5632, 32000, 2048, 10000f, 1e-5f, false),
        new("llama-3.2-1b", "llama", 2048, 16, 32, 8, 8192, 128256, 131072, 500000f, 1e-5f, true, Llama3RopeFactors: true),
        new("smollm-135m", "llama", 576, 30, 9, 3, 1536, 49152, 2048, 10000f, 1e-5f, true),
        new("qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 4864, 151936, 32768, 1000000f, 1e-6f, true),
        new("qwen3-0.6b", "qwen3", 1024, 28, 16, 8, 3072, 151936, 40960, 1000000f, 1e-6f, true, HeadDimension: 128),
        new("gemma-2-2b", "gemma2", 2304, 26, 8, 4, 9216, 256000, 8192, 10000f, 1e-6f, true, HeadDimension: 256, SlidingWindow: 4096),
        new("gemma-3-1b", "gemma3", 1152, 26, 4, 1, 6912, 262144, 32768, 1000000f, 1e-6f, true, HeadDimension: 256, SlidingWindow: 512),
        new("phi-3-mini", "phi3", 3072, 32, 32, 32, 8192, 32064, 4096, 10000f, 1e-5f, false, SlidingWindow: 2047),
        // DeepSeek-V2-Lite: no query compression, 64 routed experts (6 used, 2 shared) after one dense layer, softmax
        // gating; YaRN ×40 from 4096 with mscale_all_dim 0.707. In the split layout llama.cpp's converter writes today,
        // and in the older combined one (attn_kv_b), which llama.cpp runs with a decompressed cache.
        new("deepseek-v2-lite", "deepseek2", 2048, 27, 16, 16, 10944, 102400, 163840, 10000f, 1e-6f, false,
            Latent: LatentShape.V2Lite, Experts: ExpertShape.V2Lite),
        new("deepseek-v2-lite-combined", "deepseek2", 2048, 27, 16, 16, 10944, 102400, 163840, 10000f, 1e-6f, false,
            Latent: LatentShape.V2Lite with { Layout = LatentLayout.Combined }, Experts: ExpertShape.V2Lite),
    ];

    /// <summary>A shape by name (case-insensitive).</summary>
    public static ModelShape Find(string name) =>
        Known.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown shape '{name}' (known: {string.Join(", ", Known.Select(s => s.Name))})");

    /// <summary>Dimension of each head.</summary>
    public int HeadDim => HeadDimension > 0 ? HeadDimension : EmbeddingLength / Heads;
}

/// <summary>Multi-head Latent Attention sizes of a shape.</summary>
/// <param name="QueryLoraRank">Query compression rank (0: none).</param>
/// <param name="KvLoraRank">Latent width.</param>
/// <param name="NopeDim">qk_nope per head.</param>
/// <param name="RopeDim">qk_rope.</param>
/// <param name="ValueDim">Value head size.</param>
/// <param name="Layout">How the latent-to-head projections are stored.</param>
/// <param name="YarnFactor">YaRN context factor (0: no scaling).</param>
/// <param name="YarnOriginalContext">YaRN's original context.</param>
/// <param name="YarnLogMultiplier">The file's <c>rope.scaling.yarn_log_multiplier</c> (0.1 × mscale_all_dim, as converters write it).</param>
public sealed record LatentShape(int QueryLoraRank, int KvLoraRank, int NopeDim, int RopeDim, int ValueDim, LatentLayout Layout,
    float YarnFactor = 0, int YarnOriginalContext = 0, float YarnLogMultiplier = 0)
{
    /// <summary>DeepSeek-V2-Lite's attention.</summary>
    public static LatentShape V2Lite { get; } = new(0, 512, 128, 64, 128, LatentLayout.Split, 40f, 4096, 0.0707f);
}

/// <summary>Mixture-of-experts sizes of a shape.</summary>
/// <param name="Count">Routed experts.</param>
/// <param name="Used">Experts per token.</param>
/// <param name="Shared">Shared experts.</param>
/// <param name="FeedForwardLength">Hidden width of one expert.</param>
/// <param name="LeadingDense">Dense layers before the first mixture.</param>
/// <param name="Gating">Router score function.</param>
/// <param name="Normalize">Normalise the chosen weights.</param>
/// <param name="Scale">Weight multiplier.</param>
/// <param name="SelectionBias">Write <c>exp_probs_b</c>.</param>
/// <param name="Groups">Expert groups (0: none).</param>
/// <param name="GroupsUsed">Groups a token may use.</param>
public sealed record ExpertShape(int Count, int Used, int Shared, int FeedForwardLength, int LeadingDense, ExpertGating Gating,
    bool Normalize, float Scale, bool SelectionBias, int Groups = 0, int GroupsUsed = 0)
{
    /// <summary>DeepSeek-V2-Lite's experts.</summary>
    public static ExpertShape V2Lite { get; } = new(64, 6, 2, 1408, 1, ExpertGating.Softmax, false, 1f, false);
}
