namespace SharpInfer.Models.Architectures;

/// <summary>Qwen2 and Qwen2.5: Llama's blocks with Q/K/V biases and RoPE on halves (NeoX layout); tied or untied output.</summary>
public sealed class Qwen2Architecture : ModelArchitecture
{
    /// <inheritdoc />
    public override string Name => "qwen2";

    /// <inheritdoc />
    public override string Examples => "Qwen2, Qwen2.5 (incl. Coder, Math), DeepSeek-R1-Distill-Qwen";

    /// <inheritdoc />
    public override ModelSpec Describe(HyperParameterReader hp)
    {
        var c = CommonHyperParameters.Read(hp);
        var attention = c.Attention() with
        {
            Rope = c.Rope with { NeoX = true },
            Biases = BiasUse.Required,
        };
        var ffn = new GatedFeedForwardSpec { Length = c.FeedForwardLength };
        return c.Model(Name, Enumerable.Repeat(new LayerSpec(attention, ffn), c.LayerCount));
    }
}
