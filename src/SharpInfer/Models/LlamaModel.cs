using SharpInfer.Gguf;
using SharpInfer.Kernels;
using SharpInfer.KvCache;

namespace SharpInfer.Models;

/// <summary>A loaded Llama-family network: hyper-parameters, weights and the derived constants of its forward pass.</summary>
public sealed class LlamaModel : IDisposable
{
    /// <summary>Architectures this class runs.</summary>
    public static readonly IReadOnlySet<string> Architectures = new HashSet<string>(StringComparer.Ordinal) { "llama" };

    private LlamaModel(LlamaHyperParameters hp, LlamaWeights weights)
    {
        HyperParameters = hp;
        Weights = weights;
        RopeParameters = hp.Rope with { FreqFactors = weights.RopeFrequencyFactors };
        AttentionScale = 1f / MathF.Sqrt(hp.HeadDimK);
    }

    /// <summary>Hyper-parameters.</summary>
    public LlamaHyperParameters HyperParameters { get; }

    /// <summary>Weights.</summary>
    public LlamaWeights Weights { get; }

    /// <summary>RoPE parameters including frequency factors.</summary>
    public RopeParameters RopeParameters { get; }

    /// <summary>Scale applied to attention scores (1/√head_dim).</summary>
    public float AttentionScale { get; }

    /// <summary>KV cache rows and attention windows, one per layer (Llama attends to the full context in every layer).</summary>
    public IReadOnlyList<KvLayerSpec> KvLayout =>
        Enumerable.Repeat(new KvLayerSpec(new KvLayerShape(HyperParameters.KWidth, HyperParameters.VWidth, HyperParameters.HeadDimK, HyperParameters.HeadDimV)), HyperParameters.LayerCount).ToArray();

    /// <summary>Reads hyper-parameters and binds weights; every problem is a <see cref="ModelLoadException"/>.</summary>
    public static LlamaModel Load(GgufFile file)
    {
        var hp = LlamaHyperParameters.FromMetadata(file.Metadata);
        if (!Architectures.Contains(hp.Architecture))
        {
            throw new ModelLoadException($"unsupported architecture '{hp.Architecture}' (supported: {string.Join(", ", Architectures)})");
        }
        return new LlamaModel(hp, LlamaWeights.Load(file, hp));
    }

    /// <summary>Frees widened weight copies.</summary>
    public void Dispose() => Weights.Dispose();
}
