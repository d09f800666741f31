using System.Collections.Frozen;

namespace SharpInfer.Tensors;

/// <summary>Static facts about each <see cref="GgmlType"/>: block geometry and what this engine can do with it.</summary>
public static class GgmlTypeInfo
{
    private readonly record struct Traits(int BlockSize, int BlockBytes, bool Dequantizable, bool Quantizable);

    // Block geometry matches ggml's block structs byte for byte; the tests assert the sizes of the formats we compute with.
    private static readonly FrozenDictionary<GgmlType, Traits> Table = new Dictionary<GgmlType, Traits>
    {
        [GgmlType.F32] = new(1, 4, true, true),
        [GgmlType.F16] = new(1, 2, true, true),
        [GgmlType.BF16] = new(1, 2, true, true),
        [GgmlType.Q4_0] = new(32, 18, true, true),
        [GgmlType.Q4_1] = new(32, 20, true, true),
        [GgmlType.Q5_0] = new(32, 22, true, true),
        [GgmlType.Q5_1] = new(32, 24, true, true),
        [GgmlType.Q8_0] = new(32, 34, true, true),
        [GgmlType.Q8_1] = new(32, 36, true, true),
        [GgmlType.Q2_K] = new(256, 84, true, true),
        [GgmlType.Q3_K] = new(256, 110, true, true),
        [GgmlType.Q4_K] = new(256, 144, true, true),
        [GgmlType.Q5_K] = new(256, 176, true, true),
        [GgmlType.Q6_K] = new(256, 210, true, true),
        [GgmlType.Q8_K] = new(256, 292, true, true),
        [GgmlType.IQ4_NL] = new(32, 18, true, true),
        [GgmlType.IQ2_XXS] = new(256, 66, false, false),
        [GgmlType.IQ2_XS] = new(256, 74, false, false),
        [GgmlType.IQ3_XXS] = new(256, 98, false, false),
        [GgmlType.IQ1_S] = new(256, 50, false, false),
        [GgmlType.IQ3_S] = new(256, 110, false, false),
        [GgmlType.IQ2_S] = new(256, 82, false, false),
        [GgmlType.IQ4_XS] = new(256, 136, false, false),
        [GgmlType.IQ1_M] = new(256, 56, false, false),
        [GgmlType.I8] = new(1, 1, false, false),
        [GgmlType.I16] = new(1, 2, false, false),
        [GgmlType.I32] = new(1, 4, false, false),
        [GgmlType.I64] = new(1, 8, false, false),
        [GgmlType.F64] = new(1, 8, false, false),
        [GgmlType.TQ1_0] = new(256, 54, false, false),
        [GgmlType.TQ2_0] = new(256, 66, false, false),
        [GgmlType.MXFP4] = new(32, 17, false, false),
        [GgmlType.NVFP4] = new(64, 36, false, false),
        [GgmlType.Q1_0] = new(128, 18, false, false),
        [GgmlType.Q2_0] = new(64, 18, false, false),
    }.ToFrozenDictionary();

    /// <summary>True when <paramref name="type"/> is a format ggml defines (retired numbers are not).</summary>
    public static bool IsKnown(GgmlType type) => Table.ContainsKey(type);

    /// <summary>Elements per block (1 for plain element types).</summary>
    public static int BlockSize(GgmlType type) => Get(type).BlockSize;

    /// <summary>Bytes per block.</summary>
    public static int BlockBytes(GgmlType type) => Get(type).BlockBytes;

    /// <summary>True when this engine can turn the format back into floats.</summary>
    public static bool CanDequantize(GgmlType type) => Table.TryGetValue(type, out var t) && t.Dequantizable;

    /// <summary>True when this engine can produce the format from floats.</summary>
    public static bool CanQuantize(GgmlType type) => Table.TryGetValue(type, out var t) && t.Quantizable;

    /// <summary>True for block formats (anything with more than one element per block).</summary>
    public static bool IsBlockQuantized(GgmlType type) => Get(type).BlockSize > 1;

    /// <summary>Bytes taken by <paramref name="elements"/> values; the count must be a whole number of blocks.</summary>
    public static long RowBytes(GgmlType type, long elements)
    {
        var t = Get(type);
        if (elements % t.BlockSize != 0)
        {
            throw new ArgumentException($"{elements} elements is not a multiple of the {type} block size {t.BlockSize}", nameof(elements));
        }
        return elements / t.BlockSize * t.BlockBytes;
    }

    /// <summary>Bits per element of the format (e.g. 4.5 for Q4_0).</summary>
    public static double BitsPerWeight(GgmlType type)
    {
        var t = Get(type);
        return t.BlockBytes * 8.0 / t.BlockSize;
    }

    /// <summary>The format's name as ggml and llama.cpp print it (e.g. <c>q4_0</c> → "Q4_0").</summary>
    public static string Name(GgmlType type) => type.ToString();

    /// <summary>Parses a type name case-insensitively ("q8_0", "F16", "iq4_nl").</summary>
    public static bool TryParse(string name, out GgmlType type)
    {
        foreach (var known in Table.Keys)
        {
            if (string.Equals(known.ToString(), name, StringComparison.OrdinalIgnoreCase))
            {
                type = known;
                return true;
            }
        }
        type = default;
        return false;
    }

    private static Traits Get(GgmlType type) =>
        Table.TryGetValue(type, out var t) ? t : throw new NotSupportedException($"unknown ggml type {(int)type}");
}
