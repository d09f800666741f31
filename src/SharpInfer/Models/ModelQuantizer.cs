using SharpInfer.Files;
using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Models;

/// <summary>Options for <see cref="ModelQuantizer"/>.</summary>
public sealed record QuantizeOptions
{
    /// <summary>Target type of the weight matrices (the base type when <see cref="Mix"/> is given).</summary>
    public required GgmlType Target { get; init; }

    /// <summary>
    /// The recipe choosing each matrix's type (a K-quant mix such as Q4_K_M, the same recipes <c>synth</c> writes);
    /// null: <see cref="Target"/> for every matrix.
    /// </summary>
    public QuantizationMix? Mix { get; init; }

    /// <summary>Value written to <c>general.file_type</c> (llama.cpp's ftype numbering); null derives it from the recipe.</summary>
    public uint? FileType { get; init; }

    /// <summary>Allow re-quantizing tensors that are already quantized (loses accuracy twice). Not needed to dequantize to F32, F16 or BF16.</summary>
    public bool AllowRequantize { get; init; }

    /// <summary>
    /// Keep tensors whose rows fit neither the target's blocks nor a llama.cpp fallback in their source type
    /// instead of failing.
    /// </summary>
    public bool KeepUnquantizable { get; init; }
}

/// <summary>What a quantization run did; <paramref name="Warnings"/> has one line per fallback (or kept) type, as <see cref="FallbackLog.Lines"/>.</summary>
public sealed record QuantizeReport(int Quantized, int Kept, long InputBytes, long OutputBytes, IReadOnlyList<string> Warnings);

/// <summary>
/// Converts a GGUF model's weight matrices to another type: 2-D tensors and 3-D stacks of them (mixture-of-experts
/// weights, per-head projections) are quantized row by row (in parallel); 1-D tensors (norms, biases) and
/// mixture-of-experts routers stay F32. Metadata is copied and <c>general.file_type</c> updated. Rows that are not
/// whole blocks of the type asked for take llama.cpp's fallback type (<see cref="QuantizationMix.Fallback"/>), as
/// <c>synth</c> does.
/// </summary>
public static class ModelQuantizer
{
    /// <summary>
    /// Quantizes <paramref name="input"/> into <paramref name="output"/>, written atomically by the rules of
    /// <see cref="Files.OutputFile"/> (only a GGUF file is replaced, never the input). <paramref name="progress"/>
    /// hears the tensors and bytes written so far; <paramref name="cancellation"/> stops the write and leaves no file behind.
    /// </summary>
    public static QuantizeReport Quantize(string input, string output, QuantizeOptions options, CancellationToken cancellation = default, Action<GgufWriteProgress>? progress = null)
    {
        var mix = options.Mix ?? QuantizationMix.Parse(options.Target.ToString());
        if (!SupportedTargets.Contains(mix.BaseType))
        {
            throw new ArgumentException($"cannot quantize to {options.Target}; supported: {string.Join(", ", SupportedTargets)}");
        }
        OutputFile.CheckTarget(output, GgufFile.Kind, input);
        using var source = GgufFile.Open(input);
        // A model without output.weight projects logits through its token embedding, which then gets the output's type.
        mix = mix.WithTiedOutput(source.FindTensor("output.weight") is null && source.FindTensor("token_embd.weight") is not null);
        var writer = new GgufWriter(3) { Progress = progress };
        foreach (var (key, value) in source.Metadata) writer.Metadata.Set(key, value);
        writer.Metadata.Set("general.file_type", GgufValue.FromUInt32(options.FileType ?? mix.FileType));
        writer.Metadata.Set("general.quantization_version", GgufValue.FromUInt32(2));

        int layers = LayerCount(source);
        var fallbacks = new FallbackLog();
        int quantized = 0, kept = 0;
        foreach (var tensor in source.Tensors)
        {
            GgmlType target = PlanType(tensor, mix, layers, options, fallbacks);
            if (target == tensor.Type)
            {
                writer.AddTensor(source, tensor);
                kept++;
                continue;
            }
            var t = tensor;
            writer.AddTensor(t.Name, target, t.Shape, stream => Convert(source, t, target, stream));
            quantized++;
        }
        writer.Save(output, cancellation, [input]);
        return new QuantizeReport(quantized, kept, new FileInfo(input).Length, new FileInfo(output).Length, fallbacks.Lines.ToList());
    }

    /// <summary>Types <see cref="Quantize"/> accepts as targets (and, through <see cref="QuantizationMix"/>, the K-quant mixes).</summary>
    public static IReadOnlyList<GgmlType> SupportedTargets { get; } =
    [
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1,
        GgmlType.IQ4_NL, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    ];

    /// <summary>The model's block count (for the mixes' per-layer choices); 0 when the file does not say.</summary>
    private static int LayerCount(GgufFile source)
    {
        string? arch = source.Metadata.TryGetString("general.architecture");
        if (arch is null || source.Metadata.Find($"{arch}.block_count") is null) return 0;
        long layers = source.Metadata.GetInt64($"{arch}.block_count");
        return layers is > 0 and <= int.MaxValue ? (int)layers : 0;
    }

    private static GgmlType PlanType(GgufTensorInfo tensor, QuantizationMix mix, int layers, QuantizeOptions options, FallbackLog fallbacks)
    {
        // Vectors (norm weights, biases) are tiny and precision-critical: they stay F32 whatever the target. So does a
        // mixture-of-experts router (as llama.cpp keeps it): a rounded score can change which experts a token runs.
        if (tensor.Rank is not (2 or 3) || tensor.Name.EndsWith("_norm.weight", StringComparison.Ordinal)
            || tensor.Name.EndsWith(".ffn_gate_inp.weight", StringComparison.Ordinal))
        {
            return tensor.Type is GgmlType.F16 or GgmlType.BF16 ? GgmlType.F32 : tensor.Type;
        }
        fallbacks.Planned();
        GgmlType wanted = mix.Pick(tensor, layers);
        if (wanted == tensor.Type) return wanted;
        if (!GgmlTypeInfo.CanDequantize(tensor.Type))
        {
            throw new NotSupportedException($"tensor {SafeText.Quote(tensor.Name)} is {tensor.Type}, which cannot be read back for conversion");
        }
        bool sourceIsFloat = IsFloat(tensor.Type);
        if (!sourceIsFloat && !IsFloat(wanted) && !options.AllowRequantize)
        {
            throw new InvalidOperationException($"tensor {SafeText.Quote(tensor.Name)} is already {tensor.Type}; re-quantizing loses accuracy twice (pass --allow-requantize to do it anyway)");
        }
        if (QuantizationMix.Fallback(wanted, tensor.RowLength) is { } type)
        {
            if (type != wanted) fallbacks.Note(wanted, type, tensor.RowLength);
            return type;
        }
        if (!options.KeepUnquantizable)
        {
            throw new InvalidOperationException(QuantizationMix.NoFallbackMessage(tensor, wanted) + " (pass --keep-unquantizable to leave it unconverted)");
        }
        fallbacks.Note(wanted, tensor.Type, tensor.RowLength, kept: true);
        return tensor.Type;
    }

    private static bool IsFloat(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16;

    private static unsafe void Convert(GgufFile source, GgufTensorInfo tensor, GgmlType target, Stream output)
    {
        long rowLength = tensor.RowLength;
        long srcRowBytes = tensor.RowBytes;
        long dstRowBytes = GgmlTypeInfo.RowBytes(target, rowLength);
        byte* src = source.GetDataPointer(tensor);
        // Rows are converted in chunks of ~4 MiB of output, each chunk in parallel, then written in order.
        long rowsPerChunk = Math.Max(1, (4L << 20) / Math.Max(1, dstRowBytes));
        var buffer = new byte[rowsPerChunk * dstRowBytes];
        for (long first = 0; first < tensor.RowCount; first += rowsPerChunk)
        {
            long rows = Math.Min(rowsPerChunk, tensor.RowCount - first);
            fixed (byte* dst = buffer)
            {
                byte* dstBase = dst;
                Parallel.For(0, rows, () => new float[rowLength], (r, _, scratch) =>
                {
                    fixed (float* f = scratch)
                    {
                        Dequantize.Row(tensor.Type, src + (first + r) * srcRowBytes, f, rowLength);
                        Tensors.Quantize.Row(target, f, dstBase + r * dstRowBytes, rowLength);
                    }
                    return scratch;
                }, _ => { });
            }
            output.Write(buffer, 0, (int)(rows * dstRowBytes));
        }
    }

    /// <summary>llama.cpp's <c>llama_ftype</c> number for a whole-model type.</summary>
    public static uint FileTypeOf(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q4_0 => 2,
        GgmlType.Q4_1 => 3,
        GgmlType.Q8_0 => 7,
        GgmlType.Q5_0 => 8,
        GgmlType.Q5_1 => 9,
        GgmlType.Q2_K => 10,
        GgmlType.Q3_K => 11,
        GgmlType.Q4_K => 14,
        GgmlType.Q5_K => 16,
        GgmlType.Q6_K => 18,
        GgmlType.IQ4_NL => 25,
        GgmlType.BF16 => 32,
        _ => throw new ArgumentException($"no llama.cpp file type for {type}"),
    };
}
