using SharpInfer.Gguf;
using SharpInfer.Kernels;

namespace SharpInfer.Models;

/// <summary>
/// Hyper-parameters of a Llama-family model (Llama 1/2/3.x, TinyLlama, Mistral, SmolLM, stories…) read from GGUF
/// metadata under the <c>{arch}.</c> prefix, with llama.cpp's defaults for optional keys.
/// </summary>
public sealed record LlamaHyperParameters
{
    /// <summary>Architecture name (<c>general.architecture</c>).</summary>
    public required string Architecture { get; init; }
    /// <summary>Tokens in the vocabulary (rows of the embedding).</summary>
    public required int VocabSize { get; init; }
    /// <summary>Context length the model was trained with.</summary>
    public required int TrainingContext { get; init; }
    /// <summary>Width of the residual stream.</summary>
    public required int EmbeddingLength { get; init; }
    /// <summary>Transformer blocks.</summary>
    public required int LayerCount { get; init; }
    /// <summary>Query heads.</summary>
    public required int HeadCount { get; init; }
    /// <summary>Key/value heads (fewer than query heads for GQA, one for MQA).</summary>
    public required int KvHeadCount { get; init; }
    /// <summary>Dimension of each key (and query) head.</summary>
    public required int HeadDimK { get; init; }
    /// <summary>Dimension of each value head.</summary>
    public required int HeadDimV { get; init; }
    /// <summary>Hidden width of the feed-forward block.</summary>
    public required int FeedForwardLength { get; init; }
    /// <summary>RMSNorm epsilon.</summary>
    public required float RmsEpsilon { get; init; }
    /// <summary>Rotary embedding parameters (frequency factors are filled in from <c>rope_freqs.weight</c>).</summary>
    public required RopeParameters Rope { get; init; }
    /// <summary>Query heads per key/value head.</summary>
    public int GroupSize => HeadCount / KvHeadCount;
    /// <summary>Width of one K row of the cache (all KV heads).</summary>
    public int KWidth => KvHeadCount * HeadDimK;
    /// <summary>Width of one V row of the cache.</summary>
    public int VWidth => KvHeadCount * HeadDimV;

    /// <summary>Reads the hyper-parameters; throws <see cref="ModelLoadException"/> naming a missing or bad key.</summary>
    public static LlamaHyperParameters FromMetadata(GgufMetadata m)
    {
        string arch = m.TryGetString("general.architecture") ?? throw new ModelLoadException("general.architecture is missing");
        int Required(string key)
        {
            string full = $"{arch}.{key}";
            if (m.Find(full) is not { } v) throw new ModelLoadException($"metadata key '{full}' is missing");
            return PositiveInt(full, v);
        }
        int Optional(string key, int fallback) => m.Find($"{arch}.{key}") is { } v ? PositiveInt($"{arch}.{key}", v) : fallback;
        float OptionalFloat(string key, float fallback)
        {
            try
            {
                return m.TryGetFloat32($"{arch}.{key}") ?? fallback;
            }
            catch (InvalidCastException e)
            {
                throw new ModelLoadException(e.Message, e);
            }
        }

        int embd = Required("embedding_length");
        int layers = Required("block_count");
        int heads = Required("attention.head_count");
        int kvHeads = Optional("attention.head_count_kv", heads);
        int ff = Required("feed_forward_length");
        if (embd % heads != 0 && m.Find($"{arch}.attention.key_length") is null)
        {
            throw new ModelLoadException($"embedding length {embd} is not a multiple of the head count {heads}");
        }
        int headDimK = Optional("attention.key_length", embd / heads);
        int headDimV = Optional("attention.value_length", embd / heads);
        if (heads % kvHeads != 0) throw new ModelLoadException($"{heads} query heads cannot be grouped over {kvHeads} key/value heads");
        int vocab = m.Find($"{arch}.vocab_size") is { } vs ? PositiveInt($"{arch}.vocab_size", vs)
            : m.TryGetArray("tokenizer.ggml.tokens")?.Count ?? throw new ModelLoadException("cannot tell the vocabulary size (no vocab_size and no tokenizer)");
        int ropeDims = Optional("rope.dimension_count", headDimK);
        if (ropeDims > headDimK || ropeDims % 2 != 0) throw new ModelLoadException($"rope dimension count {ropeDims} does not fit head dimension {headDimK}");
        int trainContext = Optional("context_length", 2048);

        string scalingType = m.TryGetString($"{arch}.rope.scaling.type") ?? "none";
        float factor = OptionalFloat("rope.scaling.factor", 0f);
        if (m.Find($"{arch}.rope.scale_linear") is not null) factor = OptionalFloat("rope.scale_linear", factor);
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
                throw new ModelLoadException($"unsupported rope scaling type '{scalingType}' (supported: none, linear, yarn)");
        }
        var rope = new RopeParameters(
            Dims: ropeDims,
            Base: OptionalFloat("rope.freq_base", 10000f),
            FreqScale: freqScale,
            ExtFactor: extFactor,
            AttnFactor: OptionalFloat("rope.scaling.attn_factor", 1f),
            BetaFast: OptionalFloat("rope.scaling.yarn_beta_fast", 32f),
            BetaSlow: OptionalFloat("rope.scaling.yarn_beta_slow", 1f),
            OriginalContext: Optional("rope.scaling.original_context_length", trainContext),
            NeoX: false);

        return new LlamaHyperParameters
        {
            Architecture = arch,
            VocabSize = vocab,
            TrainingContext = trainContext,
            EmbeddingLength = embd,
            LayerCount = layers,
            HeadCount = heads,
            KvHeadCount = kvHeads,
            HeadDimK = headDimK,
            HeadDimV = headDimV,
            FeedForwardLength = ff,
            RmsEpsilon = OptionalFloat("attention.layer_norm_rms_epsilon", 1e-5f),
            Rope = rope,
        };
    }

    private static int PositiveInt(string key, GgufValue value)
    {
        long v;
        try
        {
            v = value.Type == GgufValueType.Array ? value.AsArray().ToInt32().Distinct().Single() : value.AsInt64();
        }
        catch (Exception e) when (e is InvalidCastException or InvalidOperationException or OverflowException)
        {
            throw new ModelLoadException($"metadata key '{key}' is not a usable integer ({value})", e);
        }
        if (v <= 0 || v > int.MaxValue) throw new ModelLoadException($"metadata key '{key}' = {v} is out of range");
        return (int)v;
    }
}
