using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Models;

/// <summary>One transformer block's weights (views into the mapped file; biases optional).</summary>
public sealed unsafe class LlamaLayerWeights
{
    /// <summary>Attention RMSNorm weight.</summary>
    public required float* AttentionNorm { get; init; }
    /// <summary>Query projection.</summary>
    public required MatrixView Query { get; init; }
    /// <summary>Key projection.</summary>
    public required MatrixView Key { get; init; }
    /// <summary>Value projection.</summary>
    public required MatrixView Value { get; init; }
    /// <summary>Attention output projection.</summary>
    public required MatrixView Output { get; init; }
    /// <summary>Optional biases of the projections.</summary>
    public float* QueryBias { get; init; }
    /// <summary>Optional key bias.</summary>
    public float* KeyBias { get; init; }
    /// <summary>Optional value bias.</summary>
    public float* ValueBias { get; init; }
    /// <summary>Optional output bias.</summary>
    public float* OutputBias { get; init; }
    /// <summary>Feed-forward RMSNorm weight.</summary>
    public required float* FeedForwardNorm { get; init; }
    /// <summary>SwiGLU gate projection.</summary>
    public required MatrixView Gate { get; init; }
    /// <summary>SwiGLU up projection.</summary>
    public required MatrixView Up { get; init; }
    /// <summary>Feed-forward down projection.</summary>
    public required MatrixView Down { get; init; }
}

/// <summary>
/// All weights of a Llama-family model, checked against the hyper-parameters at load. Matrices are used in their
/// stored type straight from the memory map; only small vectors stored as f16/bf16 are widened to f32.
/// </summary>
public sealed unsafe class LlamaWeights : IDisposable
{
    private readonly List<NativeBuffer<float>> _owned = new();

    private LlamaWeights()
    {
    }

    /// <summary>Token embedding table (one row per token).</summary>
    public MatrixView TokenEmbedding { get; private set; }
    /// <summary>Final RMSNorm weight.</summary>
    public float* OutputNorm { get; private set; }
    /// <summary>Output projection to logits (the embedding table itself when the model ties them).</summary>
    public MatrixView Output { get; private set; }
    /// <summary>True when <c>output.weight</c> is absent and the embedding is reused.</summary>
    public bool TiedOutput { get; private set; }
    /// <summary>Per-frequency RoPE divisors (<c>rope_freqs.weight</c>, Llama 3.1), or null.</summary>
    public float[]? RopeFrequencyFactors { get; private set; }
    /// <summary>Blocks.</summary>
    public LlamaLayerWeights[] Layers { get; private set; } = [];

    /// <summary>Bytes of weights referenced (mapped, not copied).</summary>
    public long MappedBytes { get; private set; }

    /// <summary>Binds and validates every tensor; throws <see cref="ModelLoadException"/> naming the first bad one.</summary>
    public static LlamaWeights Load(GgufFile file, LlamaHyperParameters hp)
    {
        var w = new LlamaWeights();
        try
        {
            w.Bind(file, hp);
            return w;
        }
        catch
        {
            w.Dispose();
            throw;
        }
    }

    private void Bind(GgufFile file, LlamaHyperParameters hp)
    {
        int d = hp.EmbeddingLength;
        TokenEmbedding = Matrix(file, "token_embd.weight", d, hp.VocabSize);
        OutputNorm = Vector(file, "output_norm.weight", d);
        if (file.FindTensor("output.weight") is not null)
        {
            Output = Matrix(file, "output.weight", d, hp.VocabSize);
        }
        else
        {
            Output = TokenEmbedding;
            TiedOutput = true;
        }
        if (file.FindTensor("rope_freqs.weight") is { } freqs)
        {
            var values = VectorArray(file, freqs, hp.Rope.Dims / 2);
            RopeFrequencyFactors = values;
        }
        if (file.FindTensor("blk.0.ffn_gate_inp.weight") is not null)
        {
            throw new ModelLoadException("mixture-of-experts layers (blk.0.ffn_gate_inp.weight) are not supported for this architecture");
        }
        Layers = new LlamaLayerWeights[hp.LayerCount];
        for (int i = 0; i < hp.LayerCount; i++)
        {
            string p = $"blk.{i}.";
            Layers[i] = new LlamaLayerWeights
            {
                AttentionNorm = Vector(file, p + "attn_norm.weight", d),
                Query = Matrix(file, p + "attn_q.weight", d, hp.HeadCount * hp.HeadDimK),
                Key = Matrix(file, p + "attn_k.weight", d, hp.KWidth),
                Value = Matrix(file, p + "attn_v.weight", d, hp.VWidth),
                Output = Matrix(file, p + "attn_output.weight", hp.HeadCount * hp.HeadDimV, d),
                QueryBias = OptionalVector(file, p + "attn_q.bias", hp.HeadCount * hp.HeadDimK),
                KeyBias = OptionalVector(file, p + "attn_k.bias", hp.KWidth),
                ValueBias = OptionalVector(file, p + "attn_v.bias", hp.VWidth),
                OutputBias = OptionalVector(file, p + "attn_output.bias", d),
                FeedForwardNorm = Vector(file, p + "ffn_norm.weight", d),
                Gate = Matrix(file, p + "ffn_gate.weight", d, hp.FeedForwardLength),
                Up = Matrix(file, p + "ffn_up.weight", d, hp.FeedForwardLength),
                Down = Matrix(file, p + "ffn_down.weight", hp.FeedForwardLength, d),
            };
        }
        MappedBytes = file.TensorBytes;
    }

    private MatrixView Matrix(GgufFile file, string name, int columns, int rows)
    {
        var t = file.FindTensor(name) ?? throw new ModelLoadException($"tensor '{name}' is missing");
        if (t.Rank != 2 || t.Shape[0] != columns || t.Shape[1] != rows)
        {
            throw new ModelLoadException($"tensor '{name}' has shape {t.ShapeText}, expected [{columns}, {rows}]");
        }
        if (!GgmlTypeInfo.CanDequantize(t.Type) || t.Type is GgmlType.Q8_1 or GgmlType.Q8_K)
        {
            throw new ModelLoadException($"tensor '{name}' has type {t.Type}, which this engine cannot compute with");
        }
        return new MatrixView(file.GetDataPointer(t), t.Type, rows, columns, name);
    }

    private float* Vector(GgufFile file, string name, int length)
    {
        var t = file.FindTensor(name) ?? throw new ModelLoadException($"tensor '{name}' is missing");
        return VectorPointer(file, t, length);
    }

    private float* OptionalVector(GgufFile file, string name, int length) =>
        file.FindTensor(name) is { } t ? VectorPointer(file, t, length) : null;

    private float* VectorPointer(GgufFile file, GgufTensorInfo t, int length)
    {
        if (t.ElementCount != length || t.Rank > 2 || t.Shape[0] != length)
        {
            throw new ModelLoadException($"tensor '{t.Name}' has shape {t.ShapeText}, expected [{length}]");
        }
        if (t.Type == GgmlType.F32) return (float*)file.GetDataPointer(t);
        if (!GgmlTypeInfo.CanDequantize(t.Type)) throw new ModelLoadException($"tensor '{t.Name}' has type {t.Type}, which this engine cannot read");
        var buffer = new NativeBuffer<float>(length);
        _owned.Add(buffer);
        Dequantize.Row(t.Type, file.GetDataPointer(t), buffer.Pointer, length);
        return buffer.Pointer;
    }

    private float[] VectorArray(GgufFile file, GgufTensorInfo t, int length)
    {
        float* p = VectorPointer(file, t, length);
        return new ReadOnlySpan<float>(p, length).ToArray();
    }

    /// <summary>Frees the widened copies (the mapped weights belong to the file).</summary>
    public void Dispose()
    {
        foreach (var b in _owned) b.Dispose();
        _owned.Clear();
    }
}
