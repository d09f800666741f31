using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Models;

/// <summary>Options for <see cref="ModelQuantizer"/>.</summary>
public sealed record QuantizeOptions
{
    /// <summary>Target type of the weight matrices (or the base type of a mix).</summary>
    public required GgmlType Target { get; init; }

    /// <summary>Optional per-tensor choice overriding <see cref="Target"/> (used for K-quant mixes such as Q4_K_M).</summary>
    public Func<GgufTensorInfo, GgmlType>? Choose { get; init; }

    /// <summary>Value written to <c>general.file_type</c> (llama.cpp's ftype numbering); null derives it from the target.</summary>
    public uint? FileType { get; init; }

    /// <summary>Allow re-quantizing tensors that are already quantized (loses accuracy twice).</summary>
    public bool AllowRequantize { get; init; }

    /// <summary>Keep tensors whose rows are not whole blocks of the target in their source type instead of failing.</summary>
    public bool KeepUnquantizable { get; init; }
}

/// <summary>What a quantization run did.</summary>
public sealed record QuantizeReport(int Quantized, int Kept, long InputBytes, long OutputBytes, IReadOnlyList<string> Warnings);

/// <summary>
/// Converts a GGUF model's weight matrices to another type: 2-D tensors and 3-D stacks of them (mixture-of-experts
/// weights, per-head projections) are quantized row by row (in parallel); 1-D tensors (norms, biases) and
/// mixture-of-experts routers stay F32. Metadata is copied and <c>general.file_type</c> updated.
/// </summary>
public static class ModelQuantizer
{
    /// <summary>Quantizes <paramref name="input"/> into <paramref name="output"/> (written atomically).</summary>
    public static QuantizeReport Quantize(string input, string output, QuantizeOptions options)
    {
        if (!GgmlTypeInfo.CanQuantize(options.Target) || options.Target is GgmlType.Q8_1 or GgmlType.Q8_K)
        {
            throw new ArgumentException($"cannot quantize to {options.Target}; supported: {string.Join(", ", SupportedTargets)}");
        }
        if (string.Equals(Path.GetFullPath(input), Path.GetFullPath(output), StringComparison.Ordinal))
        {
            throw new ArgumentException("input and output are the same file");
        }
        using var source = GgufFile.Open(input);
        var writer = new GgufWriter(3);
        foreach (var (key, value) in source.Metadata) writer.Metadata.Set(key, value);
        writer.Metadata.Set("general.file_type", GgufValue.FromUInt32(options.FileType ?? FileTypeOf(options.Target)));
        writer.Metadata.Set("general.quantization_version", GgufValue.FromUInt32(2));

        var warnings = new List<string>();
        int quantized = 0, kept = 0;
        foreach (var tensor in source.Tensors)
        {
            GgmlType target = PlanType(tensor, options, warnings);
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
        writer.Save(output);
        return new QuantizeReport(quantized, kept, new FileInfo(input).Length, new FileInfo(output).Length, warnings);
    }

    /// <summary>Types <see cref="Quantize"/> accepts as targets.</summary>
    public static IReadOnlyList<GgmlType> SupportedTargets { get; } =
    [
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1,
        GgmlType.IQ4_NL, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    ];

    private static GgmlType PlanType(GgufTensorInfo tensor, QuantizeOptions options, List<string> warnings)
    {
        // Vectors (norm weights, biases) are tiny and precision-critical: they stay F32 whatever the target. So does a
        // mixture-of-experts router (as llama.cpp keeps it): a rounded score can change which experts a token runs.
        if (tensor.Rank is not (2 or 3) || tensor.Name.EndsWith("_norm.weight", StringComparison.Ordinal)
            || tensor.Name.EndsWith(".ffn_gate_inp.weight", StringComparison.Ordinal))
        {
            return tensor.Type is GgmlType.F16 or GgmlType.BF16 ? GgmlType.F32 : tensor.Type;
        }
        GgmlType target = options.Choose?.Invoke(tensor) ?? options.Target;
        if (target == tensor.Type) return target;
        if (!GgmlTypeInfo.CanDequantize(tensor.Type))
        {
            throw new NotSupportedException($"tensor '{tensor.Name}' is {tensor.Type}, which cannot be read back for conversion");
        }
        bool sourceIsFloat = tensor.Type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16;
        if (!sourceIsFloat && !options.AllowRequantize)
        {
            throw new InvalidOperationException($"tensor '{tensor.Name}' is already {tensor.Type}; re-quantizing loses accuracy twice (pass --allow-requantize to do it anyway)");
        }
        int block = GgmlTypeInfo.BlockSize(target);
        if (tensor.RowLength % block != 0)
        {
            string message = $"tensor '{tensor.Name}' has rows of {tensor.RowLength} elements, not a multiple of the {target} block size {block}";
            if (!options.KeepUnquantizable) throw new InvalidOperationException(message + " (pass --keep-unquantizable to leave it unconverted)");
            warnings.Add(message + "; kept as " + tensor.Type);
            return tensor.Type;
        }
        return target;
    }

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
