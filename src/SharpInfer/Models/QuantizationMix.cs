using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Models;

/// <summary>
/// Whole-model quantization recipes: a single type for every matrix, or a K-quant mix in the style of llama.cpp's
/// Q3_K_M / Q4_K_M / Q5_K_M, where a few sensitive tensors (output, attention V, some FFN down projections, the
/// experts' ones included) get more bits. Rows that are not whole 256-element super-blocks fall back to a 32-element
/// format. 3-D tensors (stacked experts) are quantized row by row like matrices.
/// </summary>
public sealed class QuantizationMix
{
    private readonly Func<GgufTensorInfo, int, int, GgmlType> _choose;

    private QuantizationMix(string name, GgmlType baseType, uint fileType, Func<GgufTensorInfo, int, int, GgmlType> choose)
    {
        Name = name;
        BaseType = baseType;
        FileType = fileType;
        _choose = choose;
    }

    /// <summary>Mix name (e.g. Q4_K_M).</summary>
    public string Name { get; }

    /// <summary>The type most matrices get.</summary>
    public GgmlType BaseType { get; }

    /// <summary>llama.cpp's <c>general.file_type</c> number for the mix.</summary>
    public uint FileType { get; }

    /// <summary>Names accepted by <see cref="Parse"/>.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q3_K_M", "Q4_K_M", "Q5_K_M"];

    /// <summary>A recipe by name: a plain type or a K-quant mix.</summary>
    public static QuantizationMix Parse(string name)
    {
        string upper = name.ToUpperInvariant();
        switch (upper)
        {
            case "Q4_K_M":
                return new QuantizationMix(upper, GgmlType.Q4_K, 15, (t, layer, layers) =>
                    IsOutput(t) ? GgmlType.Q6_K
                    : (Is(t, "attn_v") || IsFfnDown(t)) && UseMoreBits(layer, layers) ? GgmlType.Q6_K
                    : GgmlType.Q4_K);
            case "Q5_K_M":
                return new QuantizationMix(upper, GgmlType.Q5_K, 17, (t, layer, layers) =>
                    IsOutput(t) ? GgmlType.Q6_K
                    : (Is(t, "attn_v") || IsFfnDown(t)) && UseMoreBits(layer, layers) ? GgmlType.Q6_K
                    : GgmlType.Q5_K);
            case "Q3_K_M":
                return new QuantizationMix(upper, GgmlType.Q3_K, 12, (t, layer, layers) =>
                    IsOutput(t) ? GgmlType.Q6_K
                    : Is(t, "attn_v") ? (layer < 2 ? GgmlType.Q5_K : GgmlType.Q4_K)
                    : IsFfnDown(t) ? (layer < layers / 16 ? GgmlType.Q5_K : UseMoreBits(layer, layers) ? GgmlType.Q4_K : GgmlType.Q3_K)
                    : Is(t, "attn_output") ? GgmlType.Q4_K
                    : GgmlType.Q3_K);
        }
        if (!GgmlTypeInfo.TryParse(name, out var type) || !ModelQuantizer.SupportedTargets.Contains(type))
        {
            throw new ArgumentException($"unknown type or mix '{name}' (supported: {string.Join(", ", Names)})");
        }
        return new QuantizationMix(type.ToString(), type, ModelQuantizer.FileTypeOf(type), (t, _, _) => IsOutput(t) && type == GgmlType.Q2_K ? GgmlType.Q4_K : type);
    }

    /// <summary>The type for a matrix (or stacked matrices) of a model with <paramref name="layers"/> blocks, after the block-size fallback.</summary>
    public GgmlType Choose(GgufTensorInfo tensor, int layers)
    {
        int layer = LayerOf(tensor.Name);
        var type = _choose(tensor, layer, layers);
        return Fallback(type, tensor.RowLength);
    }

    /// <summary>llama.cpp's substitutes when rows are not whole 256-element super-blocks.</summary>
    public static GgmlType Fallback(GgmlType type, long rowLength)
    {
        if (rowLength % GgmlTypeInfo.BlockSize(type) == 0) return type;
        var fallback = type switch
        {
            GgmlType.Q2_K or GgmlType.Q3_K => GgmlType.IQ4_NL,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ => type,
        };
        return rowLength % GgmlTypeInfo.BlockSize(fallback) == 0 ? fallback : GgmlType.F16;
    }

    private static bool IsOutput(GgufTensorInfo t) => t.Name == "output.weight";

    private static bool Is(GgufTensorInfo t, string kind) => t.Name.EndsWith($".{kind}.weight", StringComparison.Ordinal);

    /// <summary>A down projection: dense, the routed experts' (3-D) or the shared experts' — llama.cpp's mixes treat them alike.</summary>
    private static bool IsFfnDown(GgufTensorInfo t) => Is(t, "ffn_down") || Is(t, "ffn_down_exps") || Is(t, "ffn_down_shexp");

    private static int LayerOf(string name)
    {
        if (!name.StartsWith("blk.", StringComparison.Ordinal)) return -1;
        int dot = name.IndexOf('.', 4);
        return dot > 4 && int.TryParse(name.AsSpan(4, dot - 4), out int layer) ? layer : -1;
    }

    /// <summary>Layers that get extra bits in the *_M mixes: the first and last eighth, and every third in between.</summary>
    public static bool UseMoreBits(int layer, int layers) =>
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
}
