using SharpInfer.Kernels;

namespace SharpInfer.Models.Architectures;

/// <summary>
/// The hyper-parameters nearly every family stores under the same keys, read with llama.cpp's defaults for optional
/// keys and range-checked: a family reads these, then adds its own.
/// </summary>
public sealed record CommonHyperParameters
{
    /// <summary>Tokens in the vocabulary.</summary>
    public required int VocabSize { get; init; }
    /// <summary>Training context.</summary>
    public required int TrainingContext { get; init; }
    /// <summary>Residual width.</summary>
    public required int EmbeddingLength { get; init; }
    /// <summary>Blocks.</summary>
    public required int LayerCount { get; init; }
    /// <summary>Query heads.</summary>
    public required int HeadCount { get; init; }
    /// <summary>Key/value heads.</summary>
    public required int KvHeadCount { get; init; }
    /// <summary>Elements per key head (<c>attention.key_length</c>, else n_embd / n_head).</summary>
    public required int HeadDimK { get; init; }
    /// <summary>Elements per value head.</summary>
    public required int HeadDimV { get; init; }
    /// <summary>Feed-forward hidden width.</summary>
    public required int FeedForwardLength { get; init; }
    /// <summary>RMSNorm epsilon.</summary>
    public required float RmsEpsilon { get; init; }
    /// <summary>RoPE (layout false = adjacent pairs; families that rotate halves set NeoX).</summary>
    public required RopeParameters Rope { get; init; }

    /// <summary>1/√(key head size): the usual query scale.</summary>
    public float DefaultScale => 1f / MathF.Sqrt(HeadDimK);

    /// <summary>
    /// Multi-head attention with these head counts, head sizes, RoPE and the default 1/√head scale; a family changes
    /// what it does differently with <c>with</c>.
    /// </summary>
    public MultiHeadAttentionSpec Attention() => new()
    {
        Heads = HeadCount,
        KvHeads = KvHeadCount,
        HeadDimK = HeadDimK,
        HeadDimV = HeadDimV,
        Rope = Rope,
        Scale = DefaultScale,
    };

    /// <summary>The model description with these sizes and <paramref name="layers"/>; a family adds the rest with <c>with</c>.</summary>
    public ModelSpec Model(string architecture, IEnumerable<LayerSpec> layers) => new()
    {
        Architecture = architecture,
        VocabSize = VocabSize,
        TrainingContext = TrainingContext,
        EmbeddingLength = EmbeddingLength,
        RmsEpsilon = RmsEpsilon,
        Layers = layers.ToArray(),
    };

    /// <summary>Reads and checks the common keys.</summary>
    public static CommonHyperParameters Read(HyperParameterReader r)
    {
        int embd = r.Int("embedding_length");
        int layers = r.Int("block_count");
        int heads = r.Int("attention.head_count");
        int kvHeads = r.Int("attention.head_count_kv", heads);
        int ff = r.Int("feed_forward_length");
        if (embd % heads != 0 && !r.Has("attention.key_length"))
        {
            throw new ModelLoadException($"embedding length {embd} is not a multiple of the head count {heads}");
        }
        int headDimK = r.Int("attention.key_length", embd / heads);
        int headDimV = r.Int("attention.value_length", embd / heads);
        if (heads % kvHeads != 0) throw new ModelLoadException($"{heads} query heads cannot be grouped over {kvHeads} key/value heads");
        int vocab = r.Has("vocab_size") ? r.Int("vocab_size")
            : r.Metadata.TryGetArray("tokenizer.ggml.tokens")?.Count ?? throw new ModelLoadException("cannot tell the vocabulary size (no vocab_size and no tokenizer)");
        int trainContext = r.Int("context_length", 2048);
        int ropeDims = r.Int("rope.dimension_count", headDimK);
        if (ropeDims > headDimK || ropeDims % 2 != 0) throw new ModelLoadException($"rope dimension count {ropeDims} does not fit head dimension {headDimK}");
        return new CommonHyperParameters
        {
            VocabSize = vocab,
            TrainingContext = trainContext,
            EmbeddingLength = embd,
            LayerCount = layers,
            HeadCount = heads,
            KvHeadCount = kvHeads,
            HeadDimK = headDimK,
            HeadDimV = headDimV,
            FeedForwardLength = ff,
            RmsEpsilon = r.Float("attention.layer_norm_rms_epsilon", 1e-5f, min: 1e-12f, max: 1f),
            Rope = ReadRope(r, ropeDims, trainContext),
        };
    }

    /// <summary>RoPE base, linear or YaRN scaling (rotated dimensions given).</summary>
    public static RopeParameters ReadRope(HyperParameterReader r, int dims, int trainContext)
    {
        string scalingType = r.String("rope.scaling.type") ?? "none";
        float factor = r.Float("rope.scaling.factor", 0f, min: 0f);
        if (r.Has("rope.scale_linear")) factor = r.Float("rope.scale_linear", factor, min: 0f);
        float freqScale = factor > 0 ? 1f / factor : 1f;
        float extFactor;
        switch (scalingType)
        {
            case "none":
                freqScale = 1f;
                extFactor = 0f;
                break;
            case "linear":
                extFactor = 0f;
                break;
            case "yarn":
                extFactor = 1f;
                break;
            default:
                throw new ModelLoadException($"unsupported rope scaling type {Files.SafeText.Quote(scalingType)} (supported: none, linear, yarn)");
        }
        return new RopeParameters(
            Dims: dims,
            Base: r.Float("rope.freq_base", 10000f, min: 1e-3f),
            FreqScale: freqScale,
            ExtFactor: extFactor,
            AttnFactor: r.Float("rope.scaling.attn_factor", 1f, min: 0f),
            BetaFast: r.Float("rope.scaling.yarn_beta_fast", 32f),
            BetaSlow: r.Float("rope.scaling.yarn_beta_slow", 1f),
            OriginalContext: r.Int("rope.scaling.original_context_length", trainContext),
            NeoX: false);
    }
}
