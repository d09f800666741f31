using System.Runtime.InteropServices;

namespace SharpInfer.Tensors;

// Byte-exact block layouts of ggml's quantized formats. Scales are raw f16/bf16 bit patterns (ushort) so a
// block can be read straight out of a memory-mapped file. The tests assert every size against the GGUF spec.

/// <summary>Q4_0: 32 weights = d × (q − 8), q in 0..15; low nibbles hold weights 0..15, high nibbles 16..31.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ4_0
{
    /// <summary>Weights per block.</summary>
    public const int Elements = 32;
    /// <summary>Scale (f16 bits).</summary>
    public ushort D;
    /// <summary>Packed nibbles.</summary>
    public fixed byte Qs[16];
}

/// <summary>Q4_1: 32 weights = d × q + m.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ4_1
{
    /// <summary>Weights per block.</summary>
    public const int Elements = 32;
    /// <summary>Scale (f16 bits).</summary>
    public ushort D;
    /// <summary>Minimum (f16 bits).</summary>
    public ushort M;
    /// <summary>Packed nibbles.</summary>
    public fixed byte Qs[16];
}

/// <summary>Q5_0: 32 weights = d × (q − 16); the fifth bits of all 32 quants live in <see cref="Qh"/>.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ5_0
{
    /// <summary>Weights per block.</summary>
    public const int Elements = 32;
    /// <summary>Scale (f16 bits).</summary>
    public ushort D;
    /// <summary>Fifth bits, bit i for weight i (little-endian 32-bit word).</summary>
    public fixed byte Qh[4];
    /// <summary>Low nibbles.</summary>
    public fixed byte Qs[16];
}

/// <summary>Q5_1: 32 weights = d × q + m.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ5_1
{
    /// <summary>Weights per block.</summary>
    public const int Elements = 32;
    /// <summary>Scale (f16 bits).</summary>
    public ushort D;
    /// <summary>Minimum (f16 bits).</summary>
    public ushort M;
    /// <summary>Fifth bits.</summary>
    public fixed byte Qh[4];
    /// <summary>Low nibbles.</summary>
    public fixed byte Qs[16];
}

/// <summary>Q8_0: 32 weights = d × q, q signed 8-bit.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ8_0
{
    /// <summary>Weights per block.</summary>
    public const int Elements = 32;
    /// <summary>Scale (f16 bits).</summary>
    public ushort D;
    /// <summary>Quants.</summary>
    public fixed sbyte Qs[32];
}

/// <summary>Q8_1: Q8_0 plus s = d × Σq, used for activations against formats with a minimum.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ8_1
{
    /// <summary>Weights per block.</summary>
    public const int Elements = 32;
    /// <summary>Scale (f16 bits).</summary>
    public ushort D;
    /// <summary>d × sum of quants (f16 bits).</summary>
    public ushort S;
    /// <summary>Quants.</summary>
    public fixed sbyte Qs[32];
}

/// <summary>Q2_K: 16 groups of 16; weight = d × sc × q − dmin × m, with 4-bit sc and m per group.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ2_K
{
    /// <summary>Weights per block.</summary>
    public const int Elements = 256;
    /// <summary>Low nibble: scale; high nibble: minimum; one byte per group of 16.</summary>
    public fixed byte Scales[16];
    /// <summary>2-bit quants, four per byte.</summary>
    public fixed byte Qs[64];
    /// <summary>Super-scale for scales (f16 bits).</summary>
    public ushort D;
    /// <summary>Super-scale for minimums (f16 bits).</summary>
    public ushort DMin;
}

/// <summary>Q3_K: 16 groups of 16; weight = d × (sc − 32) × (q − 4 × !hbit).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ3_K
{
    /// <summary>Weights per block.</summary>
    public const int Elements = 256;
    /// <summary>High bits of the quants.</summary>
    public fixed byte HMask[32];
    /// <summary>Low two bits of the quants.</summary>
    public fixed byte Qs[64];
    /// <summary>Sixteen 6-bit scales packed in 12 bytes.</summary>
    public fixed byte Scales[12];
    /// <summary>Super-scale (f16 bits).</summary>
    public ushort D;
}

/// <summary>Q4_K: 8 groups of 32; weight = d × sc × q − dmin × m with 6-bit sc and m.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ4_K
{
    /// <summary>Weights per block.</summary>
    public const int Elements = 256;
    /// <summary>Super-scale for scales (f16 bits).</summary>
    public ushort D;
    /// <summary>Super-scale for minimums (f16 bits).</summary>
    public ushort DMin;
    /// <summary>Eight 6-bit scales and eight 6-bit minimums packed in 12 bytes.</summary>
    public fixed byte Scales[12];
    /// <summary>4-bit quants: each 32 bytes hold two groups (low nibbles, then high nibbles).</summary>
    public fixed byte Qs[128];
}

/// <summary>Q5_K: Q4_K with a fifth bit per quant.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ5_K
{
    /// <summary>Weights per block.</summary>
    public const int Elements = 256;
    /// <summary>Super-scale for scales (f16 bits).</summary>
    public ushort D;
    /// <summary>Super-scale for minimums (f16 bits).</summary>
    public ushort DMin;
    /// <summary>Eight 6-bit scales and eight 6-bit minimums packed in 12 bytes.</summary>
    public fixed byte Scales[12];
    /// <summary>Fifth bits.</summary>
    public fixed byte Qh[32];
    /// <summary>Low nibbles.</summary>
    public fixed byte Qs[128];
}

/// <summary>Q6_K: 16 groups of 16; weight = d × sc × (q − 32) with signed 8-bit sc.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ6_K
{
    /// <summary>Weights per block.</summary>
    public const int Elements = 256;
    /// <summary>Low four bits.</summary>
    public fixed byte Ql[128];
    /// <summary>High two bits.</summary>
    public fixed byte Qh[64];
    /// <summary>Per-group scales.</summary>
    public fixed sbyte Scales[16];
    /// <summary>Super-scale (f16 bits).</summary>
    public ushort D;
}

/// <summary>Q8_K: activation format for K-quant dot products; f32 scale and per-16 sums.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockQ8_K
{
    /// <summary>Weights per block.</summary>
    public const int Elements = 256;
    /// <summary>Scale.</summary>
    public float D;
    /// <summary>Quants.</summary>
    public fixed sbyte Qs[256];
    /// <summary>Sum of each group of 16 quants.</summary>
    public fixed short BSums[16];
}

/// <summary>IQ4_NL: 32 weights = d × table[q] with a fixed non-linear 16-entry table.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public unsafe struct BlockIQ4_NL
{
    /// <summary>Weights per block.</summary>
    public const int Elements = 32;
    /// <summary>The non-linear value table shared by IQ4_NL and IQ4_XS.</summary>
    public static ReadOnlySpan<sbyte> Values => [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];
    /// <summary>Scale (f16 bits).</summary>
    public ushort D;
    /// <summary>Packed indices.</summary>
    public fixed byte Qs[16];
}
