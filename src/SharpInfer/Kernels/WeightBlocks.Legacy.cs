using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>
/// A 32-element weight format as the integer kernels see it: each block unpacks to 32 unsigned bytes U with
/// w = d·(U − Offset) + m. Implementations are structs so generic kernels are specialised per format (no calls).
/// </summary>
internal unsafe interface IBlock32
{
    /// <summary>Bytes per block.</summary>
    static abstract int BlockBytes { get; }

    /// <summary>Offset subtracted from U; 128 marks signed 8-bit weights stored shifted into the unsigned range.</summary>
    static abstract int Offset { get; }

    /// <summary>
    /// The largest unpacked value U: it bounds the 16-bit pair sums of <c>vpmaddubsw</c>, which the sixteen-by-eight
    /// tiles (<see cref="NibbleTile16x8{T}"/>) accumulate without widening only for values up to 15.
    /// </summary>
    static abstract int MaxValue { get; }

    /// <summary>The 32 values of a block as unsigned bytes.</summary>
    static abstract Vector256<byte> Unpack(byte* block);

    /// <summary>Byte offset of the f16 block scale d.</summary>
    static abstract int ScaleOffset { get; }

    /// <summary>Byte offset of the f16 block minimum m, or −1 for symmetric formats (m = 0).</summary>
    static abstract int MinOffset { get; }

    /// <summary>Whether the values are 16 bytes of plain nibbles (low nibbles = elements 0–15) mapped by <see cref="Map"/>.</summary>
    static virtual bool NibblePacked => false;

    /// <summary>Byte offset of the packed nibbles when <see cref="NibblePacked"/>.</summary>
    static virtual int ValuesOffset => 0;

    /// <summary>Maps raw nibbles to the unsigned values U (identity except for table formats).</summary>
    static virtual Vector256<byte> Map(Vector256<byte> nibbles) => nibbles;
}

/// <summary>Shared SIMD helpers of the block decoders.</summary>
internal static unsafe class BlockUnpack
{
    /// <summary>16 packed bytes → 32 nibbles: low nibbles first (elements 0..15), then high (16..31).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Nibbles(byte* qs)
    {
        var v = Vector128.Load(qs);
        var mask = Vector128.Create((byte)0x0F);
        return Vector256.Create(v & mask, Vector128.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & mask);
    }

    /// <summary>32 bits → 32 bytes, each <paramref name="value"/> where its bit is set and 0 elsewhere (bit i → byte i).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> ExpandBits(uint bits, byte value)
    {
        var broadcast = Vector256.Create(bits).AsByte();
        // Byte i takes byte i/8 of the word (vpshufb works per 128-bit lane; the word is in every dword of both).
        var spread = Avx2.Shuffle(broadcast, Vector256.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
        var bit = Vector256.Create((byte)1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
        return Vector256.Equals(spread & bit, bit) & Vector256.Create(value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float F16(byte* p) => HalfFloat.ToSingle(*(ushort*)p);

    /// <summary>The f16 values at <paramref name="p"/> in four blocks <paramref name="stride"/> bytes apart, widened.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> F16x4(byte* p, long stride) =>
        HalfVector.F16ToSingle(Vector128.Create((uint)*(ushort*)p, *(ushort*)(p + stride), *(ushort*)(p + 2 * stride), *(ushort*)(p + 3 * stride)));
}

internal unsafe struct Q4_0Block : IBlock32
{
    public static bool NibblePacked => true;
    public static int ValuesOffset => 2;
    public static int BlockBytes => 18;
    public static int Offset => 8;
    public static int MaxValue => 15;
    public static Vector256<byte> Unpack(byte* block) => BlockUnpack.Nibbles(block + 2);
    public static int ScaleOffset => 0;
    public static int MinOffset => -1;
}

internal unsafe struct Q4_1Block : IBlock32
{
    public static bool NibblePacked => true;
    public static int ValuesOffset => 4;
    public static int BlockBytes => 20;
    public static int Offset => 0;
    public static int MaxValue => 15;
    public static Vector256<byte> Unpack(byte* block) => BlockUnpack.Nibbles(block + 4);
    public static int ScaleOffset => 0;
    public static int MinOffset => 2;
}

internal unsafe struct Q5_0Block : IBlock32
{
    public static int BlockBytes => 22;
    public static int Offset => 16;
    public static int MaxValue => 31;
    public static Vector256<byte> Unpack(byte* block) => BlockUnpack.Nibbles(block + 6) | BlockUnpack.ExpandBits(*(uint*)(block + 2), 0x10);
    public static int ScaleOffset => 0;
    public static int MinOffset => -1;
}

internal unsafe struct Q5_1Block : IBlock32
{
    public static int BlockBytes => 24;
    public static int Offset => 0;
    public static int MaxValue => 31;
    public static Vector256<byte> Unpack(byte* block) => BlockUnpack.Nibbles(block + 8) | BlockUnpack.ExpandBits(*(uint*)(block + 4), 0x10);
    public static int ScaleOffset => 0;
    public static int MinOffset => 2;
}

internal unsafe struct Q8_0Block : IBlock32
{
    public static int BlockBytes => 34;
    public static int Offset => 128;
    public static int MaxValue => 255;
    public static Vector256<byte> Unpack(byte* block) => Vector256.Load(block + 2) ^ Vector256.Create((byte)0x80);
    public static int ScaleOffset => 0;
    public static int MinOffset => -1;
}

internal unsafe struct IQ4_NLBlock : IBlock32
{
    public static int BlockBytes => 18;
    public static int Offset => 128;
    public static int MaxValue => 241;

    // The non-linear table shifted by 128 into bytes, in both 128-bit lanes for vpshufb.
    private static Vector256<byte> Table => Vector256.Create((byte)1, 24, 45, 63, 79, 93, 106, 118, 129, 141, 153, 166, 181, 197, 217, 241,
        1, 24, 45, 63, 79, 93, 106, 118, 129, 141, 153, 166, 181, 197, 217, 241);

    public static Vector256<byte> Unpack(byte* block) => Avx2.Shuffle(Table, BlockUnpack.Nibbles(block + 2));
    public static bool NibblePacked => true;
    public static int ValuesOffset => 2;
    public static Vector256<byte> Map(Vector256<byte> nibbles) => Avx2.Shuffle(Table, nibbles);
    public static int ScaleOffset => 0;
    public static int MinOffset => -1;
}
