using SharpInfer.Gguf;
using SharpInfer.Sampling;
using SharpInfer.Tensors;

namespace SharpInfer.Models;

/// <summary>
/// Writes a random-weight Llama model of a real shape in any quantization recipe, with the tokenizer of a vocab-only
/// GGUF. For benchmarks: the model computes nothing meaningful, but its tensors, sizes and memory traffic are those
/// of the real thing, and llama.cpp loads it too. Weights are generated and quantized row by row in parallel, so a
/// 1B model needs no more than a few MiB of memory while it is written.
/// </summary>
public static class ModelSynthesizer
{
    /// <summary>
    /// Generates the model at <paramref name="output"/> (written atomically by the rules of
    /// <see cref="Files.OutputFile"/>; never over the vocab file); returns the number of parameters.
    /// <paramref name="fallbacks"/> records the matrices whose rows took llama.cpp's fallback type,
    /// <paramref name="progress"/> hears (tensors written, total), and <paramref name="cancellation"/> stops the write.
    /// </summary>
    public static long Write(ModelShape shape, QuantizationMix mix, string vocabPath, string output, ulong seed,
        FallbackLog? fallbacks = null, CancellationToken cancellation = default, Action<int, int>? progress = null)
    {
        using var vocab = GgufFile.Open(vocabPath);
        var tokens = vocab.Metadata.TryGetArray("tokenizer.ggml.tokens") ?? throw new ArgumentException($"{vocabPath} has no tokenizer (tokenizer.ggml.tokens)");
        int vocabSize = tokens.Count;
        int d = shape.EmbeddingLength, hd = shape.HeadDim, kv = shape.KvHeads * hd;

        var w = new GgufWriter(3);
        var m = w.Metadata;
        m.Set("general.architecture", GgufValue.FromString("llama"));
        m.Set("general.name", GgufValue.FromString($"synthetic {shape.Name} {mix.Name}"));
        m.Set("general.file_type", GgufValue.FromUInt32(mix.FileType));
        m.Set("general.quantization_version", GgufValue.FromUInt32(2));
        m.Set("llama.vocab_size", GgufValue.FromUInt32((uint)vocabSize));
        m.Set("llama.context_length", GgufValue.FromUInt32((uint)shape.ContextLength));
        m.Set("llama.embedding_length", GgufValue.FromUInt32((uint)d));
        m.Set("llama.block_count", GgufValue.FromUInt32((uint)shape.Layers));
        m.Set("llama.feed_forward_length", GgufValue.FromUInt32((uint)shape.FeedForwardLength));
        m.Set("llama.attention.head_count", GgufValue.FromUInt32((uint)shape.Heads));
        m.Set("llama.attention.head_count_kv", GgufValue.FromUInt32((uint)shape.KvHeads));
        m.Set("llama.rope.dimension_count", GgufValue.FromUInt32((uint)hd));
        m.Set("llama.rope.freq_base", GgufValue.FromFloat32(shape.RopeBase));
        m.Set("llama.attention.layer_norm_rms_epsilon", GgufValue.FromFloat32(shape.RmsEpsilon));
        foreach (var (key, value) in vocab.Metadata)
        {
            if (key.StartsWith("tokenizer.", StringComparison.Ordinal)) m.Set(key, value);
        }

        void Matrix(string name, int columns, int rows, float scale, int layer)
        {
            var info = new GgufTensorInfo(name, GgmlType.F32, [columns, rows], 0);
            var type = mix.Choose(info, shape.Layers, fallbacks);
            ulong tensorSeed = seed ^ (ulong)name.GetHashCode(StringComparison.Ordinal) * 0x9E3779B97F4A7C15UL;
            w.AddTensor(name, type, [columns, rows], stream => WriteRandom(stream, type, columns, rows, scale, tensorSeed));
        }
        void Ones(string name, int length) => w.AddTensor(name, GgmlType.F32, [length], stream => WriteConstant(stream, length, 1f));

        float embScale = 1f, projScale = 1f / MathF.Sqrt(d), downScale = 1f / MathF.Sqrt(shape.FeedForwardLength);
        Matrix("token_embd.weight", d, vocabSize, embScale, -1);
        Ones("output_norm.weight", d);
        if (!shape.TiedEmbeddings) Matrix("output.weight", d, vocabSize, projScale, -1);
        if (shape.Llama3RopeFactors)
        {
            var factors = Llama3RopeFactors(hd, shape.RopeBase);
            w.AddTensor("rope_freqs.weight", GgmlType.F32, [factors.Length], stream => stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(factors.AsSpan())));
        }
        for (int l = 0; l < shape.Layers; l++)
        {
            string p = $"blk.{l}.";
            Ones(p + "attn_norm.weight", d);
            Matrix(p + "attn_q.weight", d, d, projScale, l);
            Matrix(p + "attn_k.weight", d, kv, projScale, l);
            Matrix(p + "attn_v.weight", d, kv, projScale, l);
            Matrix(p + "attn_output.weight", d, d, projScale, l);
            Ones(p + "ffn_norm.weight", d);
            Matrix(p + "ffn_gate.weight", d, shape.FeedForwardLength, projScale, l);
            Matrix(p + "ffn_up.weight", d, shape.FeedForwardLength, projScale, l);
            Matrix(p + "ffn_down.weight", shape.FeedForwardLength, d, downScale, l);
        }
        w.Progress = progress;
        w.Save(output, cancellation, [vocabPath]);
        return shape.Parameters(vocabSize);
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
