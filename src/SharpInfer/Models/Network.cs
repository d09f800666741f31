using SharpInfer.Gguf;
using SharpInfer.Kernels;
using SharpInfer.KvCache;
using SharpInfer.Models.Architectures;
using SharpInfer.Models.Parts;
using SharpInfer.Tensors;

namespace SharpInfer.Models;

/// <summary>
/// A loaded network of any supported family: its description (<see cref="ModelSpec"/>) and its weights bound to
/// the parts every block runs. Weights are views into the mapped file; nothing is copied but small f16 vectors.
/// </summary>
public sealed unsafe class Network : IDisposable
{
    private readonly WeightBinder _binder;
    private readonly RopeSlot[] _ropeSlots;
    private readonly int[] _ropeSlotOfLayer;

    private Network(ModelSpec spec, WeightBinder binder)
    {
        Spec = spec;
        _binder = binder;
        int d = spec.EmbeddingLength;
        TokenEmbedding = binder.Matrix("token_embd.weight", d, spec.VocabSize);
        OutputNorm = binder.Vector("output_norm.weight", d);
        TiedOutput = !binder.Has("output.weight") && spec.OutputMayBeTied;
        Output = TiedOutput ? TokenEmbedding : binder.Matrix("output.weight", d, spec.VocabSize);
        (_ropeSlots, _ropeSlotOfLayer) = PlanRopeSlots(spec, binder);
        AttentionParts = new BlockPart[spec.LayerCount];
        FeedForwardParts = new BlockPart[spec.LayerCount];
        AttentionNorms = new nint[spec.LayerCount];
        FeedForwardNorms = new nint[spec.LayerCount];
        for (int l = 0; l < spec.LayerCount; l++)
        {
            AttentionNorms[l] = (nint)binder.Vector($"blk.{l}.attn_norm.weight", d);
            FeedForwardNorms[l] = (nint)binder.Vector($"blk.{l}.ffn_norm.weight", d);
            AttentionParts[l] = BindAttention(spec.Layers[l].Attention, binder, l, spec, _ropeSlotOfLayer[l]);
            FeedForwardParts[l] = BindFeedForward(spec.Layers[l].FeedForward, binder, l, spec);
        }
        MappedBytes = binder.File.TensorBytes;
    }

    /// <summary>The description.</summary>
    public ModelSpec Spec { get; }

    /// <summary>Token embedding table (one row per token).</summary>
    public MatrixView TokenEmbedding { get; }

    /// <summary>Final RMSNorm weight.</summary>
    public float* OutputNorm { get; }

    /// <summary>Output projection to logits (the embedding table itself when tied).</summary>
    public MatrixView Output { get; }

    /// <summary>True when <c>output.weight</c> is absent and the embedding is reused.</summary>
    public bool TiedOutput { get; }

    /// <summary>Bytes of weights referenced (mapped, not copied).</summary>
    public long MappedBytes { get; }

    /// <summary>
    /// Bytes of the routed experts' weights over all layers: of these a decode step reads only the chosen experts'
    /// (<see cref="ExpertUsage.RoutedBytesRead"/>), of the rest of <see cref="MappedBytes"/> it reads all.
    /// </summary>
    public long RoutedExpertBytes => FeedForwardParts.OfType<MixtureOfExpertsPart>().Sum(p => p.RoutedBytes);

    internal BlockPart[] AttentionParts { get; }
    internal BlockPart[] FeedForwardParts { get; }
    internal nint[] AttentionNorms { get; }
    internal nint[] FeedForwardNorms { get; }

    /// <summary>Number of distinct RoPE parameter sets over the layers.</summary>
    internal int RopeSlotCount => _ropeSlots.Length;

    /// <summary>Binds every tensor the file's architecture declares; every problem is a <see cref="ModelLoadException"/>.</summary>
    public static Network Load(GgufFile file)
    {
        var spec = ModelArchitecture.Describe(file.Metadata);
        var binder = new WeightBinder(file);
        try
        {
            CheckDeclaredTensors(spec, file);
            return new Network(spec, binder);
        }
        catch
        {
            binder.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The RoPE of every slot for a context of <paramref name="contextSize"/> cells: frequency factors filled in, and
    /// LongRoPE's long factors chosen when the context exceeds the original one.
    /// </summary>
    public RopeParameters[] RopeSlots(int contextSize) =>
        _ropeSlots.Select(s => s.Rope with { FreqFactors = contextSize > s.Rope.OriginalContext && s.Long is not null ? s.Long : s.Short }).ToArray();

    /// <summary>The RoPE slot of each layer.</summary>
    public IReadOnlyList<int> RopeSlotOfLayer => _ropeSlotOfLayer;

    /// <summary>
    /// KV cache layout for a context of <paramref name="contextSize"/> cells (rotations with their resolved RoPE), with
    /// latent attention layers cached as <paramref name="mla"/> needs them.
    /// </summary>
    public IReadOnlyList<KvLayerSpec> KvLayout(int contextSize, MlaMode mla = MlaMode.Absorb)
    {
        var ropes = RopeSlots(contextSize);
        var layout = Spec.KvLayoutFor(mla).ToArray();
        for (int l = 0; l < layout.Length; l++)
        {
            if (layout[l].Rotation is { } r) layout[l] = layout[l] with { Rotation = r with { Rope = ropes[_ropeSlotOfLayer[l]] } };
        }
        return layout;
    }

    private static BlockPart BindAttention(AttentionSpec spec, WeightBinder binder, int layer, ModelSpec model, int ropeSlot) => spec switch
    {
        MultiHeadAttentionSpec mha => new MultiHeadAttentionPart(mha, binder, layer, model.EmbeddingLength, model.RmsEpsilon, ropeSlot),
        LatentAttentionSpec mla => new LatentAttentionPart(mla, binder, layer, model.EmbeddingLength, ropeSlot),
        _ => throw new ModelLoadException($"layer {layer}: attention kind {spec.GetType().Name} has no implementation"),
    };

    private static BlockPart BindFeedForward(FeedForwardSpec spec, WeightBinder binder, int layer, ModelSpec model) => spec switch
    {
        GatedFeedForwardSpec gated => new GatedFeedForwardPart(gated, binder, layer, model.EmbeddingLength, model.RmsEpsilon),
        MixtureOfExpertsSpec moe => new MixtureOfExpertsPart(moe, binder, layer, model.EmbeddingLength),
        _ => throw new ModelLoadException($"layer {layer}: feed-forward kind {spec.GetType().Name} has no implementation"),
    };

    /// <summary>Checks that every required tensor is present with its declared shape, before anything is bound.</summary>
    private static void CheckDeclaredTensors(ModelSpec spec, GgufFile file)
    {
        foreach (var t in spec.Tensors())
        {
            var info = file.FindTensor(t.Name);
            if (info is null)
            {
                if (t.Optional) continue;
                throw new ModelLoadException($"tensor '{t.Name}' is missing");
            }
            bool same = info.Rank == t.Shape.Length ? info.Shape.SequenceEqual(t.Shape) : t.Shape.Length == 1 && info.ElementCount == t.Shape[0] && info.Shape[0] == t.Shape[0];
            if (!same) throw new ModelLoadException($"tensor '{t.Name}' has shape {info.ShapeText}, expected {t.ShapeText}");
        }
    }

    private sealed record RopeSlot(RopeParameters Rope, float[]? Short, float[]? Long);

    /// <summary>
    /// The distinct RoPE settings over the layers (parameters and factor tensors), in first-use order: layers of one
    /// slot share one angle cache per token.
    /// </summary>
    internal static IReadOnlyList<(RopeParameters Rope, string? Short, string? Long)> RopeSlotKeys(ModelSpec spec) =>
        spec.Layers.Select(l => l.Attention.Rotary).OfType<RotarySpec>()
            .Select(a => (a.Rope, a.FactorsTensor, a.LongFactorsTensor)).Distinct().ToArray();

    /// <summary>Resolves the RoPE slots' factor tensors and assigns each layer its slot.</summary>
    private static (RopeSlot[], int[]) PlanRopeSlots(ModelSpec spec, WeightBinder binder)
    {
        var slots = RopeSlotKeys(spec).ToList();
        var ofLayer = new int[spec.LayerCount];
        for (int l = 0; l < spec.LayerCount; l++)
        {
            if (spec.Layers[l].Attention.Rotary is { } a) ofLayer[l] = slots.IndexOf((a.Rope, a.FactorsTensor, a.LongFactorsTensor));
        }
        var resolved = slots.Select(s => new RopeSlot(s.Rope,
            s.Short is null ? null : binder.OptionalArray(s.Short, s.Rope.Dims / 2),
            s.Long is null ? null : binder.OptionalArray(s.Long, s.Rope.Dims / 2))).ToArray();
        return (resolved, ofLayer);
    }

    /// <summary>Frees the widened copies.</summary>
    public void Dispose() => _binder.Dispose();
}
