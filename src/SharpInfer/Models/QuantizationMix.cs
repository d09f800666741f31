using SharpInfer.Files;
using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Models;

/// <summary>
/// Whole-model quantization recipes: a single type for every matrix, or a K-quant mix in the style of llama.cpp's
/// Q3_K_M / Q4_K_M / Q5_K_M, where a few sensitive tensors (output, attention V, some FFN down projections, the
/// experts' ones included) get more bits. Rows that are not whole blocks of the type asked for follow llama.cpp's
/// fallbacks (see <see cref="Fallback"/>). 3-D tensors (stacked experts) are quantized row by row like matrices.
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
                    : Is(t, "attn_qkv") ? GgmlType.Q5_K
                    : (Is(t, "attn_v") || IsFfnDown(t)) && UseMoreBits(layer, layers) ? GgmlType.Q6_K
                    : GgmlType.Q4_K);
            case "Q5_K_M":
                return new QuantizationMix(upper, GgmlType.Q5_K, 17, (t, layer, layers) =>
                    IsOutput(t) ? GgmlType.Q6_K
                    : Is(t, "attn_qkv") ? GgmlType.Q6_K
                    : (Is(t, "attn_v") || IsFfnDown(t)) && UseMoreBits(layer, layers) ? GgmlType.Q6_K
                    : GgmlType.Q5_K);
            case "Q3_K_M":
                return new QuantizationMix(upper, GgmlType.Q3_K, 12, (t, layer, layers) =>
                    IsOutput(t) ? GgmlType.Q6_K
                    : Is(t, "attn_qkv") ? GgmlType.Q4_K
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

    /// <summary>
    /// The type for a 2-D tensor of a model with <paramref name="layers"/> blocks, after llama.cpp's block-size
    /// fallback (<see cref="Fallback"/>), which <paramref name="log"/> records. Throws when the rows fit neither the
    /// type nor a fallback.
    /// </summary>
    public GgmlType Choose(GgufTensorInfo tensor, int layers, FallbackLog? log = null)
    {
        var type = Pick(tensor, layers);
        log?.Planned();
        if (tensor.RowLength % GgmlTypeInfo.BlockSize(type) == 0) return type;
        var fallback = Fallback(type, tensor.RowLength) ?? throw new InvalidOperationException(NoFallbackMessage(tensor, type));
        log?.Note(type, fallback, tensor.RowLength);
        return fallback;
    }

    /// <summary>
    /// True for a model whose output projection is its token embedding (no <c>output.weight</c>): the embedding then
    /// takes the output's type, as llama.cpp's recipes give it (Q6_K in the K-quant mixes).
    /// </summary>
    public bool TiedOutput { get; private init; }

    /// <summary>This recipe for a model with (or without) a tied output.</summary>
    public QuantizationMix WithTiedOutput(bool tied) => new(Name, BaseType, FileType, _choose) { TiedOutput = tied };

    /// <summary>The recipe's type for a tensor before any block-size fallback.</summary>
    public GgmlType Pick(GgufTensorInfo tensor, int layers)
    {
        if (TiedOutput && tensor.Name == "token_embd.weight") tensor = new GgufTensorInfo("output.weight", tensor.Type, tensor.Shape.ToArray(), tensor.Offset);
        return _choose(tensor, LayerOf(tensor.Name), layers);
    }

    /// <summary>
    /// llama.cpp's substitute when rows are not whole blocks of <paramref name="type"/>: a K-quant falls back to a
    /// 32-element format (Q2_K, Q3_K → IQ4_NL; Q4_K → Q5_0; Q5_K → Q5_1; Q6_K → Q8_0), or F16 where that does not
    /// fit either. Null for the other types, whose rows llama.cpp refuses ("Unsupported tensor size encountered").
    /// The type itself when the rows fit it.
    /// </summary>
    public static GgmlType? Fallback(GgmlType type, long rowLength)
    {
        if (rowLength % GgmlTypeInfo.BlockSize(type) == 0) return type;
        GgmlType? fallback = type switch
        {
            GgmlType.Q2_K or GgmlType.Q3_K => GgmlType.IQ4_NL,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            _ => null,
        };
        if (fallback is not { } f) return null;
        return rowLength % GgmlTypeInfo.BlockSize(f) == 0 ? f : GgmlType.F16;
    }

    /// <summary>The error for rows that fit neither a type nor a fallback.</summary>
    public static string NoFallbackMessage(GgufTensorInfo tensor, GgmlType type) =>
        $"tensor {SafeText.Quote(tensor.Name)} has rows of {tensor.RowLength} elements, not a multiple of the {type} block size {GgmlTypeInfo.BlockSize(type)}, and {type} has no fallback type (llama.cpp refuses such a tensor too)";

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

/// <summary>
/// Which tensors a quantization gave a fallback type (rows not whole blocks of the type asked for), for the report
/// <c>quantize</c> and <c>synth</c> both print: one line per (asked, used) pair, with the count and the row lengths.
/// </summary>
public sealed class FallbackLog
{
    private readonly SortedDictionary<(GgmlType Wanted, GgmlType Used, bool Kept), (int Count, SortedSet<long> Rows)> _entries = new();

    /// <summary>Matrices planned so far (with or without a fallback).</summary>
    public int Tensors { get; private set; }

    /// <summary>Matrices that got a fallback type or were kept.</summary>
    public int Fallbacks => _entries.Values.Sum(e => e.Count);

    internal void Planned() => Tensors++;

    /// <summary>
    /// Records that a tensor asked for <paramref name="wanted"/> was stored as <paramref name="used"/>: llama.cpp's
    /// fallback, or (<paramref name="kept"/>) its source type where no fallback exists.
    /// </summary>
    public void Note(GgmlType wanted, GgmlType used, long rowLength, bool kept = false)
    {
        var (count, rows) = _entries.TryGetValue((wanted, used, kept), out var e) ? e : (0, new SortedSet<long>());
        rows.Add(rowLength);
        _entries[(wanted, used, kept)] = (count + 1, rows);
    }

    /// <summary>One line per fallback pair, e.g. "181 of 211 matrices stored as Q5_0 instead of Q4_K: rows of 576 elements are not whole 256-element Q4_K blocks (llama.cpp's fallback)".</summary>
    public IEnumerable<string> Lines => _entries.Select(e =>
        $"{e.Value.Count} of {Tensors} matrices stored as {e.Key.Used} instead of {e.Key.Wanted}: rows of {string.Join(", ", e.Value.Rows)} elements are not whole " +
        $"{GgmlTypeInfo.BlockSize(e.Key.Wanted)}-element {e.Key.Wanted} blocks " +
        (e.Key.Kept ? $"and {e.Key.Wanted} has no fallback type (kept in their source type, --keep-unquantizable)" : "(llama.cpp's fallback)"));
}
