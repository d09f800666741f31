using SharpInfer.Kernels;
using SharpInfer.KvCache;

namespace SharpInfer.Models;

/// <summary>One transformer block: which attention and which feed-forward part it runs, and its norms.</summary>
/// <param name="Attention">The attention part.</param>
/// <param name="FeedForward">The feed-forward part.</param>
public sealed record LayerSpec(AttentionSpec Attention, FeedForwardSpec FeedForward);

/// <summary>
/// An attention part of a block. Every kind reads the block's attention-normed input and leaves its output (before
/// the residual add) for the pass; it declares the tensors it reads and the KV cache rows it keeps.
/// </summary>
public abstract record AttentionSpec
{
    /// <summary>Apply RMSNorm (<c>post_attention_norm</c>) to the part's output before the residual add (Gemma 2/3).</summary>
    public bool PostNorm { get; init; }

    /// <summary>The cache rows of this layer, its window and how its keys were rotated.</summary>
    public abstract KvLayerSpec Cache { get; }

    /// <summary>The tensors of block <paramref name="layer"/> this part reads (besides its input norm).</summary>
    public abstract IEnumerable<TensorSpec> Tensors(int layer, int embedding);

    /// <summary>Width of the part's attention output before the output projection (heads × value head size).</summary>
    public abstract int OutputWidth { get; }

    /// <summary>
    /// The cache rows of this layer when Multi-head Latent Attention runs in <paramref name="mode"/>; only latent
    /// attention caches differently per mode, every other kind returns <see cref="Cache"/>.
    /// </summary>
    public virtual KvLayerSpec CacheFor(MlaMode mode) => Cache;

    /// <summary>The RoPE this part applies and the tensors of its frequency factors (null: it rotates nothing).</summary>
    public virtual RotarySpec? Rotary => null;
}

/// <summary>A part's RoPE: its parameters and the tensors holding per-frequency factors, if any.</summary>
/// <param name="Rope">The parameters (factors are filled in from the file at load).</param>
/// <param name="FactorsTensor">Tensor of per-frequency factors, or null.</param>
/// <param name="LongFactorsTensor">Factors for contexts longer than the original one (LongRoPE), or null.</param>
public sealed record RotarySpec(RopeParameters Rope, string? FactorsTensor = null, string? LongFactorsTensor = null);

/// <summary>How the query, key and value projections are stored.</summary>
public enum QkvLayout
{
    /// <summary><c>attn_q</c>, <c>attn_k</c>, <c>attn_v</c>.</summary>
    Separate,
    /// <summary>One <c>attn_qkv</c> matrix whose rows are Q, then K, then V (Phi-3); split by views, never copied.</summary>
    Fused,
}

/// <summary>
/// Multi-head attention with grouped key/value heads (MHA, GQA, MQA): projections with optional biases, optional
/// per-head RMSNorm of queries and keys before RoPE, RoPE on the first <see cref="RopeParameters.Dims"/> of each head,
/// a query scale, an optional logit softcap and an optional sliding window.
/// </summary>
public sealed record MultiHeadAttentionSpec : AttentionSpec
{
    /// <summary>Query heads.</summary>
    public required int Heads { get; init; }
    /// <summary>Key/value heads.</summary>
    public required int KvHeads { get; init; }
    /// <summary>Elements per query/key head.</summary>
    public required int HeadDimK { get; init; }
    /// <summary>Elements per value head.</summary>
    public required int HeadDimV { get; init; }
    /// <summary>RoPE of this layer (frequency factors are filled in from the file at load).</summary>
    public required RopeParameters Rope { get; init; }
    /// <summary>Tensor holding per-frequency RoPE factors for this layer, or null.</summary>
    public string? RopeFactorsTensor { get; init; }
    /// <summary>
    /// Factors used instead of <see cref="RopeFactorsTensor"/> when the context is longer than the RoPE's original
    /// context (Phi-3's LongRoPE: <c>rope_factors_long</c> against <c>rope_factors_short</c>), or null.
    /// </summary>
    public string? LongRopeFactorsTensor { get; init; }
    /// <summary>Multiplier of q·k (1/√head_dim for most models).</summary>
    public required float Scale { get; init; }
    /// <summary>Attention logit softcap c: scores become c·tanh(s/c) (0: none; Gemma 2).</summary>
    public float Softcap { get; init; }
    /// <summary>Sliding window in positions (0: full attention).</summary>
    public int Window { get; init; }
    /// <summary>How the window is measured.</summary>
    public SlidingWindowType WindowType { get; init; }
    /// <summary>How the projections are stored.</summary>
    public QkvLayout Layout { get; init; }
    /// <summary>Q/K/V biases: required (Qwen2), optional (Llama files may have them) or never read.</summary>
    public BiasUse Biases { get; init; } = BiasUse.Optional;
    /// <summary>Per-head RMSNorm of queries and keys before RoPE (<c>attn_q_norm</c>, <c>attn_k_norm</c>; Qwen3, Gemma 3).</summary>
    public bool HeadNorm { get; init; }
    /// <summary>Epsilon of the per-head norm.</summary>
    public float HeadNormEpsilon { get; init; } = 1e-6f;

    /// <summary>Query heads per key/value head.</summary>
    public int GroupSize => Heads / KvHeads;
    /// <summary>Width of the queries of one token.</summary>
    public int QueryWidth => Heads * HeadDimK;
    /// <summary>Width of one K cache row.</summary>
    public int KWidth => KvHeads * HeadDimK;
    /// <summary>Width of one V cache row.</summary>
    public int VWidth => KvHeads * HeadDimV;

    /// <inheritdoc />
    public override int OutputWidth => Heads * HeadDimV;

    /// <inheritdoc />
    public override KvLayerSpec Cache => new(new KvLayerShape(KWidth, VWidth, HeadDimK, HeadDimV), Window, WindowType,
        new KvRotation(Rope, KvHeads, HeadDimK, 0));

    /// <inheritdoc />
    public override RotarySpec Rotary => new(Rope, RopeFactorsTensor, LongRopeFactorsTensor);

    /// <inheritdoc />
    public override IEnumerable<TensorSpec> Tensors(int layer, int embedding)
    {
        string p = $"blk.{layer}.";
        if (Layout == QkvLayout.Fused)
        {
            yield return new(p + "attn_qkv.weight", [embedding, QueryWidth + KWidth + VWidth], TensorRole.Matrix);
        }
        else
        {
            yield return new(p + "attn_q.weight", [embedding, QueryWidth], TensorRole.Matrix);
            yield return new(p + "attn_k.weight", [embedding, KWidth], TensorRole.Matrix);
            yield return new(p + "attn_v.weight", [embedding, VWidth], TensorRole.Matrix);
        }
        if (Biases != BiasUse.None && Layout == QkvLayout.Separate)
        {
            bool optional = Biases == BiasUse.Optional;
            yield return new(p + "attn_q.bias", [QueryWidth], TensorRole.Bias, optional);
            yield return new(p + "attn_k.bias", [KWidth], TensorRole.Bias, optional);
            yield return new(p + "attn_v.bias", [VWidth], TensorRole.Bias, optional);
        }
        if (HeadNorm)
        {
            yield return new(p + "attn_q_norm.weight", [HeadDimK], TensorRole.Norm);
            yield return new(p + "attn_k_norm.weight", [HeadDimK], TensorRole.Norm);
        }
        yield return new(p + "attn_output.weight", [OutputWidth, embedding], TensorRole.Matrix);
        if (Biases == BiasUse.Optional) yield return new(p + "attn_output.bias", [embedding], TensorRole.Bias, true);
        if (PostNorm) yield return new(p + "post_attention_norm.weight", [embedding], TensorRole.Norm);
    }
}

/// <summary>Whether a part reads bias vectors.</summary>
public enum BiasUse
{
    /// <summary>Never.</summary>
    None,
    /// <summary>When the file has them.</summary>
    Optional,
    /// <summary>Always: a file without them is refused.</summary>
    Required,
}

/// <summary>A feed-forward part of a block: reads the FFN-normed input, leaves its output for the residual add.</summary>
public abstract record FeedForwardSpec
{
    /// <summary>Apply RMSNorm (<c>post_ffw_norm</c>) to the part's output before the residual add (Gemma 2/3).</summary>
    public bool PostNorm { get; init; }

    /// <summary>The tensors of block <paramref name="layer"/> this part reads (besides its input norm).</summary>
    public abstract IEnumerable<TensorSpec> Tensors(int layer, int embedding);

    /// <summary>The hidden width (for scratch sizing).</summary>
    public abstract int HiddenWidth { get; }
}

/// <summary>The gate's activation in a gated feed-forward block.</summary>
public enum GateActivation
{
    /// <summary>SiLU: SwiGLU (Llama, Qwen, Phi, Mistral).</summary>
    Silu,
    /// <summary>GELU, tanh approximation: GeGLU (Gemma).</summary>
    GeluTanh,
}

/// <summary>A gated feed-forward block: down(act(gate·x) ⊙ up·x).</summary>
public sealed record GatedFeedForwardSpec : FeedForwardSpec
{
    /// <summary>Hidden width.</summary>
    public required int Length { get; init; }
    /// <summary>Activation of the gate.</summary>
    public GateActivation Activation { get; init; }
    /// <summary>Gate and up stored as one <c>ffn_up</c> of twice the width, gate rows first (Phi-3); split by views.</summary>
    public bool FusedGateUp { get; init; }

    /// <inheritdoc />
    public override int HiddenWidth => Length;

    /// <inheritdoc />
    public override IEnumerable<TensorSpec> Tensors(int layer, int embedding)
    {
        string p = $"blk.{layer}.";
        if (FusedGateUp)
        {
            yield return new(p + "ffn_up.weight", [embedding, 2L * Length], TensorRole.Matrix);
        }
        else
        {
            yield return new(p + "ffn_gate.weight", [embedding, Length], TensorRole.Matrix);
            yield return new(p + "ffn_up.weight", [embedding, Length], TensorRole.Matrix);
        }
        yield return new(p + "ffn_down.weight", [Length, embedding], TensorRole.Matrix);
        if (PostNorm) yield return new(p + "post_ffw_norm.weight", [embedding], TensorRole.Norm);
    }
}
