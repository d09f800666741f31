using SharpInfer.Gguf;
using SharpInfer.KvCache;

namespace SharpInfer.Models.Architectures;

/// <summary>
/// Gemma 3 (text): Gemma 2's blocks without softcaps, with per-head Q/K norms; five sliding-window layers to one
/// global layer, the window layers with RoPE base 10000 and no scaling, the global ones with <c>rope.freq_base</c>
/// and the file's RoPE scaling; head size from <c>attention.key_length</c>.
/// </summary>
public sealed class Gemma3Architecture : ModelArchitecture
{
    /// <inheritdoc />
    public override string Name => "gemma3";

    /// <inheritdoc />
    public override string Examples => "Gemma 3 1B, 4B, 12B, 27B (text)";

    /// <summary>Layers per window pattern: the last of every six attends globally.</summary>
    public const int Pattern = 6;

    /// <inheritdoc />
    public override ModelSpec Describe(HyperParameterReader hp)
    {
        var c = CommonHyperParameters.Read(hp);
        int window = hp.Int("attention.sliding_window");
        float scale = c.LayerCount == 62 ? 1f / MathF.Sqrt(c.EmbeddingLength / c.HeadCount) : c.DefaultScale;
        var global = c.Attention() with
        {
            Rope = c.Rope with { NeoX = true },
            Scale = scale,
            Biases = BiasUse.None,
            HeadNorm = true,
            HeadNormEpsilon = c.RmsEpsilon,
            PostNorm = true,
        };
        var local = global with
        {
            Window = window,
            WindowType = SlidingWindowType.Standard,
            Rope = global.Rope with { Base = 10000f, FreqScale = 1f, ExtFactor = 0f },
        };
        var ffn = new GatedFeedForwardSpec { Length = c.FeedForwardLength, Activation = GateActivation.GeluTanh, PostNorm = true };
        return c.Model(Name, Enumerable.Range(0, c.LayerCount).Select(l => new LayerSpec(l % Pattern < Pattern - 1 ? local : global, ffn))) with
        {
            EmbeddingScale = MathF.Sqrt(c.EmbeddingLength),
        };
    }

    /// <inheritdoc />
    public override IEnumerable<KeyValuePair<string, GgufValue>> ShapeMetadata(ModelShape shape) =>
    [
        new("attention.key_length", GgufValue.FromUInt32((uint)shape.HeadDim)),
        new("attention.value_length", GgufValue.FromUInt32((uint)shape.HeadDim)),
        new("attention.sliding_window", GgufValue.FromUInt32((uint)shape.SlidingWindow)),
    ];
}
