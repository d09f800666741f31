using SharpInfer.Gguf;
using SharpInfer.KvCache;

namespace SharpInfer.Models.Architectures;

/// <summary>
/// Phi-3 and Phi-3.5 mini/medium: one fused <c>attn_qkv</c> and one fused gate+up <c>ffn_up</c> (both split by views,
/// never copied), NeoX RoPE, a sliding window on every layer where the file gives one, and LongRoPE factors
/// (<c>rope_factors_short</c>, or <c>rope_factors_long</c> when the context exceeds the original one).
/// </summary>
public sealed class Phi3Architecture : ModelArchitecture
{
    /// <inheritdoc />
    public override string Name => "phi3";

    /// <inheritdoc />
    public override string Examples => "Phi-3 / Phi-3.5 mini, Phi-3 medium, Phi-4 mini";

    /// <inheritdoc />
    public override ModelSpec Describe(HyperParameterReader hp)
    {
        var c = CommonHyperParameters.Read(hp);
        int window = hp.IntOrZero("attention.sliding_window", 0);
        var attention = c.Attention() with
        {
            Rope = c.Rope with { NeoX = true },
            RopeFactorsTensor = "rope_factors_short.weight",
            LongRopeFactorsTensor = "rope_factors_long.weight",
            Layout = QkvLayout.Fused,
            Biases = BiasUse.None,
            Window = window,
            WindowType = SlidingWindowType.Standard,
        };
        var ffn = new GatedFeedForwardSpec { Length = c.FeedForwardLength, FusedGateUp = true };
        return c.Model(Name, Enumerable.Repeat(new LayerSpec(attention, ffn), c.LayerCount)) with
        {
            ExtraTensors =
            [
                new TensorSpec("rope_factors_long.weight", [c.Rope.Dims / 2], TensorRole.RopeFactors, Optional: true),
                new TensorSpec("rope_factors_short.weight", [c.Rope.Dims / 2], TensorRole.RopeFactors, Optional: true),
            ],
        };
    }

    /// <inheritdoc />
    public override IEnumerable<KeyValuePair<string, GgufValue>> ShapeMetadata(ModelShape shape) =>
        shape.SlidingWindow > 0 ? [new("attention.sliding_window", GgufValue.FromUInt32((uint)shape.SlidingWindow))] : [];
}
