using SharpInfer.Gguf;
using SharpInfer.Models.Architectures;
using SharpInfer.Sampling;
using SharpInfer.Tensors;

namespace SharpInfer.Models;

/// <summary>
/// Writes a random-weight model of a real shape (any supported family) in any quantization recipe, with the tokenizer of a vocab-only
/// GGUF. For benchmarks: the model computes nothing meaningful, but its tensors, sizes and memory traffic are those
/// of the real thing, and llama.cpp loads it too. Weights are generated and quantized row by row in parallel and
/// streamed to the file in chunks of a few MiB (3-D expert tensors too), so a 10 GB mixture-of-experts model needs no
/// more memory than a 1B one while it is written.
/// </summary>
public static class ModelSynthesizer
{
    /// <summary>
    /// Generates the model at <paramref name="output"/> (written atomically by the rules of
    /// <see cref="Files.OutputFile"/>; never over the vocab file); returns the number of parameters.
    /// <paramref name="fallbacks"/> records the matrices whose rows took llama.cpp's fallback type,
    /// <paramref name="progress"/> hears the tensors and bytes written so far, and <paramref name="cancellation"/> stops the write.
    /// </summary>
    public static long Write(ModelShape shape, QuantizationMix mix, string vocabPath, string output, ulong seed,
        FallbackLog? fallbacks = null, CancellationToken cancellation = default, Action<GgufWriteProgress>? progress = null)
    {
        using var vocab = GgufFile.Open(vocabPath);
        var tokens = vocab.Metadata.TryGetArray("tokenizer.ggml.tokens") ?? throw new ArgumentException($"{vocabPath} has no tokenizer (tokenizer.ggml.tokens)");
        var architecture = ModelArchitectures.Find(shape.Architecture);

        var w = new GgufWriter(3);
        WriteMetadata(w.Metadata, shape, architecture, mix, tokens.Count);
        foreach (var (key, value) in vocab.Metadata)
        {
            if (key.StartsWith("tokenizer.", StringComparison.Ordinal)) w.Metadata.Set(key, value);
        }
        // The file's tensors are exactly what the family reads from this metadata, so synth and load cannot disagree.
        var spec = ModelArchitecture.Describe(w.Metadata);
        mix = mix.WithTiedOutput(shape.TiedEmbeddings);
        long parameters = 0;
        foreach (var tensor in spec.Tensors())
        {
            if (!Wanted(tensor, shape)) continue;
            parameters += tensor.ElementCount;
            AddTensor(w, tensor, shape, mix, seed, fallbacks);
        }
        w.Progress = progress;
        w.Save(output, cancellation, [vocabPath]);
        return parameters;
    }

    private static void WriteMetadata(GgufMetadata m, ModelShape shape, ModelArchitecture architecture, QuantizationMix mix, int vocabSize)
    {
        string a = shape.Architecture;
        m.Set("general.architecture", GgufValue.FromString(a));
        m.Set("general.name", GgufValue.FromString($"synthetic {shape.Name} {mix.Name}"));
        m.Set("general.file_type", GgufValue.FromUInt32(mix.FileType));
        m.Set("general.quantization_version", GgufValue.FromUInt32(2));
        m.Set($"{a}.vocab_size", GgufValue.FromUInt32((uint)vocabSize));
        m.Set($"{a}.context_length", GgufValue.FromUInt32((uint)shape.ContextLength));
        m.Set($"{a}.embedding_length", GgufValue.FromUInt32((uint)shape.EmbeddingLength));
        m.Set($"{a}.block_count", GgufValue.FromUInt32((uint)shape.Layers));
        m.Set($"{a}.feed_forward_length", GgufValue.FromUInt32((uint)shape.FeedForwardLength));
        m.Set($"{a}.attention.head_count", GgufValue.FromUInt32((uint)shape.Heads));
        m.Set($"{a}.attention.head_count_kv", GgufValue.FromUInt32((uint)shape.KvHeads));
        m.Set($"{a}.rope.dimension_count", GgufValue.FromUInt32((uint)shape.HeadDim));
        m.Set($"{a}.rope.freq_base", GgufValue.FromFloat32(shape.RopeBase));
        m.Set($"{a}.attention.layer_norm_rms_epsilon", GgufValue.FromFloat32(shape.RmsEpsilon));
        foreach (var (key, value) in architecture.ShapeMetadata(shape)) m.Set($"{a}.{key}", value);
    }

    /// <summary>
    /// Required tensors always; of the optional ones, an untied output, Llama 3.1's RoPE factors and the experts'
    /// selection bias when the shape has them.
    /// </summary>
    private static bool Wanted(TensorSpec tensor, ModelShape shape) => !tensor.Optional || tensor.Name switch
    {
        "output.weight" => !shape.TiedEmbeddings,
        "rope_freqs.weight" => shape.Llama3RopeFactors,
        _ when tensor.Name.EndsWith(".exp_probs_b.bias", StringComparison.Ordinal) => shape.Experts?.SelectionBias == true,
        _ => false,
    };

    private static void AddTensor(GgufWriter w, TensorSpec tensor, ModelShape shape, QuantizationMix mix, ulong seed, FallbackLog? fallbacks)
    {
        string name = tensor.Name;
        switch (tensor.Role)
        {
            case TensorRole.Norm:
                w.AddTensor(name, GgmlType.F32, tensor.Shape, stream => WriteConstant(stream, (int)tensor.ElementCount, 1f));
                return;
            case TensorRole.RopeFactors:
            {
                var factors = Llama3RopeFactors(shape.HeadDim, shape.RopeBase);
                w.AddTensor(name, GgmlType.F32, tensor.Shape, stream => stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(factors.AsSpan())));
                return;
            }
        }
        int columns = (int)tensor.Shape[0];
        int rows = checked((int)(tensor.ElementCount / columns));
        ulong tensorSeed = seed ^ StableHash(name) * 0x9E3779B97F4A7C15UL;
        if (tensor.Role == TensorRole.Bias)
        {
            w.AddTensor(name, GgmlType.F32, tensor.Shape, stream => WriteRandom(stream, GgmlType.F32, columns, rows, 0.02f, tensorSeed));
            return;
        }
        var info = new GgufTensorInfo(name, GgmlType.F32, tensor.Shape, 0);
        var type = tensor.Role == TensorRole.Router ? GgmlType.F32 : mix.Choose(info, shape.Layers, fallbacks);
        // Embeddings get unit-ish rows; projections are scaled by their fan-in so activations keep their size.
        float scale = name == "token_embd.weight" ? 1f : 1f / MathF.Sqrt(columns);
        w.AddTensor(name, type, tensor.Shape, stream => WriteRandom(stream, type, columns, rows, scale, tensorSeed));
    }

    /// <summary>
    /// FNV-1a of the name's UTF-16 code units: the same in every process (string.GetHashCode is randomised per
    /// process, which made a seed give different weights on every run).
    /// </summary>
    private static ulong StableHash(string name)
    {
        ulong hash = 0xCBF29CE484222325UL;
        foreach (char c in name) hash = (hash ^ c) * 0x100000001B3UL;
        return hash;
    }

    /// <summary>Llama 3.1-style frequency factors (factor 32, low/high frequency factors 1 and 4, original context 8192).</summary>
    private static float[] Llama3RopeFactors(int headDim, float ropeBase)
    {
        const float factor = 32f, lowFreqFactor = 1f, highFreqFactor = 4f, original = 8192f;
        float lowWavelen = original / lowFreqFactor, highWavelen = original / highFreqFactor;
        var result = new float[headDim / 2];
        for (int i = 0; i < result.Length; i++)
        {
            float freq = 1f / MathF.Pow(ropeBase, 2f * i / headDim);
            float wavelen = 2 * MathF.PI / freq;
            if (wavelen < highWavelen) result[i] = 1f;
            else if (wavelen > lowWavelen) result[i] = factor;
            else
            {
                float smooth = (original / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                result[i] = 1f / ((1 - smooth) / factor + smooth);
            }
        }
        return result;
    }

    private static void WriteConstant(Stream stream, int length, float value)
    {
        var values = new float[length];
        Array.Fill(values, value);
        stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static void WriteRandom(Stream stream, GgmlType type, int columns, int rows, float scale, ulong seed)
    {
        long rowBytes = GgmlTypeInfo.RowBytes(type, columns);
        int rowsPerChunk = (int)Math.Max(1, Math.Min(rows, (8L << 20) / Math.Max(1, rowBytes)));
        var buffer = new byte[rowsPerChunk * rowBytes];
        for (int first = 0; first < rows; first += rowsPerChunk)
        {
            int count = Math.Min(rowsPerChunk, rows - first);
            int chunkFirst = first;
            Parallel.For(0, count, () => new float[columns], (r, _, values) =>
            {
                // Each row has its own generator, so output does not depend on how rows are split over threads.
                var rng = new Xoshiro256(seed + (ulong)(chunkFirst + r) * 0xD1B54A32D192ED03UL);
                for (int c = 0; c < columns; c++)
                {
                    // Sum of two uniforms: a cheap bell shape with unit-ish spread and no extreme outliers.
                    values[c] = (float)((rng.NextDouble() + rng.NextDouble() - 1.0) * 2.45 * scale);
                }
                Quantize.Row(type, values, buffer.AsSpan((int)(r * rowBytes), (int)rowBytes));
                return values;
            }, _ => { });
            stream.Write(buffer, 0, (int)(count * rowBytes));
        }
    }
}
