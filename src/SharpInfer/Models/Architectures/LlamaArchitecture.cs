namespace SharpInfer.Models.Architectures;

/// <summary>
/// Llama 1/2/3.x, TinyLlama, Mistral 7B, SmolLM, stories: RMSNorm, multi-head attention with grouped KV heads and
/// adjacent-pair RoPE (with Llama 3.1's <c>rope_freqs.weight</c> where present), SwiGLU.
/// </summary>
public sealed class LlamaArchitecture : ModelArchitecture
{
    /// <inheritdoc />
    public override string Name => "llama";

    /// <inheritdoc />
    public override string Examples => "Llama 1/2/3.x, TinyLlama, Mistral 7B, SmolLM";

    /// <inheritdoc />
    public override ModelSpec Describe(HyperParameterReader hp)
    {
        var c = CommonHyperParameters.Read(hp);
        if (hp.Metadata.Contains($"{Name}.expert_count") && hp.Int("expert_count", 0) > 0)
        {
            throw new ModelLoadException("mixture-of-experts llama models (expert_count > 0) are not supported");
        }
        var attention = c.Attention() with
        {
            RopeFactorsTensor = "rope_freqs.weight",
        };
        var ffn = new GatedFeedForwardSpec { Length = c.FeedForwardLength };
        return c.Model(Name, Enumerable.Repeat(new LayerSpec(attention, ffn), c.LayerCount)) with
        {
            ExtraTensors = [new TensorSpec("rope_freqs.weight", [c.Rope.Dims / 2], TensorRole.RopeFactors, Optional: true)],
        };
    }
}
