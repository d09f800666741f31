using SharpInfer.Gguf;
using SharpInfer.KvCache;

namespace SharpInfer.Models.Architectures;

/// <summary>
/// Gemma 2: embeddings scaled by √n_embd, NeoX RoPE, attention-logit and final-logit softcaps, a sliding window on
/// every other layer (the even ones), post-attention and post-FFN norms, GeGLU, tied output. The query scale follows
/// the model-size rule llama.cpp uses: 1/√(n_embd / n_head) for the 46-layer 27B, 1/√head_dim otherwise.
/// </summary>
public sealed class Gemma2Architecture : ModelArchitecture
{
    /// <inheritdoc />
    public override string Name => "gemma2";

    /// <inheritdoc />
    public override string Examples => "Gemma 2 2B, 9B, 27B";

    /// <inheritdoc />
    public override ModelSpec Describe(HyperParameterReader hp)
    {
        var c = CommonHyperParameters.Read(hp);
        int window = hp.Int("attention.sliding_window", 4096);
        float scale = c.LayerCount == 46 ? 1f / MathF.Sqrt(c.EmbeddingLength / c.HeadCount) : c.DefaultScale;
        var global = c.Attention() with
        {
            Rope = c.Rope with { NeoX = true },
            Scale = scale,
            Softcap = hp.Float("attn_logit_softcapping", 50f, min: 0f),
            Biases = BiasUse.None,
            PostNorm = true,
        };
        var local = global with { Window = window, WindowType = SlidingWindowType.Standard };
        var ffn = new GatedFeedForwardSpec { Length = c.FeedForwardLength, Activation = GateActivation.GeluTanh, PostNorm = true };
        return c.Model(Name, Enumerable.Range(0, c.LayerCount).Select(l => new LayerSpec(l % 2 == 0 ? local : global, ffn))) with
        {
            EmbeddingScale = MathF.Sqrt(c.EmbeddingLength),
            FinalSoftcap = hp.Float("final_logit_softcapping", 30f, min: 0f),
        };
    }

    /// <inheritdoc />
    public override IEnumerable<KeyValuePair<string, GgufValue>> ShapeMetadata(ModelShape shape) =>
    [
        new("attention.key_length", GgufValue.FromUInt32((uint)shape.HeadDim)),
        new("attention.value_length", GgufValue.FromUInt32((uint)shape.HeadDim)),
        new("attention.sliding_window", GgufValue.FromUInt32((uint)shape.SlidingWindow)),
        new("attn_logit_softcapping", GgufValue.FromFloat32(50f)),
        new("final_logit_softcapping", GgufValue.FromFloat32(30f)),
    ];
}
