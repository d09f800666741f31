using SharpInfer.Gguf;

namespace SharpInfer.Models.Architectures;

/// <summary>
/// Qwen3 (dense): no biases, per-head RMSNorm of queries and keys before NeoX RoPE, head size from
/// <c>attention.key_length</c> (Qwen3-0.6B: 16 heads × 128 = 2048 against n_embd 1024).
/// </summary>
public sealed class Qwen3Architecture : ModelArchitecture
{
    /// <inheritdoc />
    public override string Name => "qwen3";

    /// <inheritdoc />
    public override string Examples => "Qwen3 0.6B–32B (dense)";

    /// <inheritdoc />
    public override ModelSpec Describe(HyperParameterReader hp)
    {
        var c = CommonHyperParameters.Read(hp);
        var attention = c.Attention() with
        {
            Rope = c.Rope with { NeoX = true },
            Biases = BiasUse.None,
            HeadNorm = true,
            HeadNormEpsilon = c.RmsEpsilon,
        };
        var ffn = new GatedFeedForwardSpec { Length = c.FeedForwardLength };
        return c.Model(Name, Enumerable.Repeat(new LayerSpec(attention, ffn), c.LayerCount));
    }

    /// <inheritdoc />
    public override IEnumerable<KeyValuePair<string, GgufValue>> ShapeMetadata(ModelShape shape) =>
    [
        new("attention.key_length", GgufValue.FromUInt32((uint)shape.HeadDim)),
        new("attention.value_length", GgufValue.FromUInt32((uint)shape.HeadDim)),
    ];
}
