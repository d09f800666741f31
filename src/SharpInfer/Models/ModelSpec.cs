using SharpInfer.KvCache;

namespace SharpInfer.Models;

/// <summary>
/// Everything an architecture says about a model file: the global hyper-parameters, the parts of every block and,
/// derived from them, the tensors to read and the KV cache layout. The generic forward pass and the KV cache run
/// any model from this description; a family's file only builds it.
/// </summary>
public sealed record ModelSpec
{
    /// <summary>Architecture name (<c>general.architecture</c>).</summary>
    public required string Architecture { get; init; }
    /// <summary>Tokens in the vocabulary (rows of the embedding).</summary>
    public required int VocabSize { get; init; }
    /// <summary>Context length the model was trained with.</summary>
    public required int TrainingContext { get; init; }
    /// <summary>Width of the residual stream.</summary>
    public required int EmbeddingLength { get; init; }
    /// <summary>RMSNorm epsilon.</summary>
    public required float RmsEpsilon { get; init; }
    /// <summary>The blocks, in order.</summary>
    public required IReadOnlyList<LayerSpec> Layers { get; init; }
    /// <summary>Multiplier of the token embeddings (Gemma: √n_embd; 1 for most models).</summary>
    public float EmbeddingScale { get; init; } = 1f;
    /// <summary>Final logit softcap c: logits become c·tanh(l/c) (0: none; Gemma 2).</summary>
    public float FinalSoftcap { get; init; }
    /// <summary>Whether the model ties the output projection to the embeddings when <c>output.weight</c> is absent.</summary>
    public bool OutputMayBeTied { get; init; } = true;
    /// <summary>Tensors read once for the whole model besides embedding, final norm and output (e.g. <c>rope_freqs.weight</c>).</summary>
    public IReadOnlyList<TensorSpec> ExtraTensors { get; init; } = [];

    /// <summary>Number of blocks.</summary>
    public int LayerCount => Layers.Count;

    /// <summary>KV cache rows, window and rotation of every layer (latent attention layers as <see cref="MlaMode.Absorb"/> caches them).</summary>
    public IReadOnlyList<KvLayerSpec> KvLayout => KvLayoutFor(MlaMode.Absorb);

    /// <summary>KV cache rows, window and rotation of every layer when latent attention runs in <paramref name="mode"/>.</summary>
    public IReadOnlyList<KvLayerSpec> KvLayoutFor(MlaMode mode) => Layers.Select(l => l.Attention.CacheFor(mode)).ToArray();

    /// <summary>Whether any layer runs Multi-head Latent Attention (so <see cref="MlaMode"/> matters).</summary>
    public bool HasLatentAttention => Layers.Any(l => l.Attention is LatentAttentionSpec);

    /// <summary>Whether any layer runs a mixture of experts.</summary>
    public bool HasExperts => Layers.Any(l => l.FeedForward is MixtureOfExpertsSpec);

    /// <summary>
    /// Whether cached keys can be moved to other positions (K-shift, context shift): every layer must say how its
    /// keys were rotated.
    /// </summary>
    public bool CanShift => Layers.All(l => l.Attention.Cache.Rotation is not null);

    /// <summary>Every tensor the model reads, global ones first, then block by block.</summary>
    public IEnumerable<TensorSpec> Tensors()
    {
        int d = EmbeddingLength;
        yield return new("token_embd.weight", [d, VocabSize], TensorRole.Matrix);
        yield return new("output_norm.weight", [d], TensorRole.Norm);
        yield return new("output.weight", [d, VocabSize], TensorRole.Matrix, Optional: OutputMayBeTied);
        foreach (var t in ExtraTensors) yield return t;
        for (int l = 0; l < Layers.Count; l++)
        {
            yield return new($"blk.{l}.attn_norm.weight", [d], TensorRole.Norm);
            foreach (var t in Layers[l].Attention.Tensors(l, d)) yield return t;
            yield return new($"blk.{l}.ffn_norm.weight", [d], TensorRole.Norm);
            foreach (var t in Layers[l].FeedForward.Tensors(l, d)) yield return t;
        }
    }
}
