using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>
/// A 256-element K-quant format as the integer kernels see it, decoded straight into registers: eight 32-element
/// chunks of unsigned values U, a signed integer scale per 16-element group, and per format either a minimum per
/// group (weight = d·sc·U − dmin·m) or a fixed offset (weight = d·sc·(U − offset)). Implementations are structs so the
/// generic kernels are specialised per format.
/// </summary>
internal unsafe interface ISuperBlock
{
    /// <summary>Bytes per super-block.</summary>
    static abstract int BlockBytes { get; }

    /// <summary>Offset subtracted from U before scaling (0 for formats with minimums).</summary>
    static abstract int Offset { get; }

    /// <summary>Whether the format has per-group minimums scaled by dmin.</summary>
    static abstract bool HasMins { get; }

    /// <summary>Elements that share one scale: 16, or 32 for Q4_K and Q5_K.</summary>
    static abstract int GroupSize { get; }

    /// <summary>Chunks 2·<paramref name="pair"/> and 2·<paramref name="pair"/>+1 (elements 64·pair … 64·pair+63).</summary>
    static abstract void Values(byte* block, int pair, out Vector256<byte> first, out Vector256<byte> second);

    /// <summary>The 16 group scales, and (for formats with minimums) the 16 group minimums.</summary>
    static abstract void Scales(byte* block, out Vector256<short> scales, out Vector256<short> mins);

    /// <summary>Super-block scale d.</summary>
    static abstract float D(byte* block);

    /// <summary>Super-block scale of the minimums (0 without minimums).</summary>
    static abstract float DMin(byte* block);
}

internal static unsafe class SuperBlockUnpack
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Bits(Vector256<byte> v, int shift, byte mask) =>
        Vector256.ShiftRightLogical(v.AsUInt16(), shift).AsByte() & Vector256.Create(mask);

    /// <summary>Eight byte values each repeated twice, widened to 16 shorts (32-element groups as pairs of 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<short> Doubled(Vector128<byte> bytes, byte first) =>
        Avx2.ConvertToVector256Int16(Ssse3.Shuffle(bytes, Vector128.Create(first, first, (byte)(first + 1), (byte)(first + 1), (byte)(first + 2), (byte)(first + 2),
            (byte)(first + 3), (byte)(first + 3), (byte)(first + 4), (byte)(first + 4), (byte)(first + 5), (byte)(first + 5), (byte)(first + 6), (byte)(first + 6),
            (byte)(first + 7), (byte)(first + 7))));

    /// <summary>
    /// The eight 6-bit scales and eight 6-bit minimums of Q4_K/Q5_K, as bytes [sc0..sc7, m0..m7]: the three packed
    /// dwords a0, a1, a2 as lanes [a0, a2, a1, a2 ≫ 4] masked to their low bits, ORed with the top bits of a0 and a1
    /// (four vector operations instead of a dozen scalar ones). Reads 16 bytes at <paramref name="packed"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> ScaleMinK4(byte* packed)
    {
        var v = Vector128.Load((uint*)packed);
        var low = Avx2.ShiftRightLogicalVariable(Sse2.Shuffle(v, 0x98), Vector128.Create(0u, 0, 0, 4))
            & Vector128.Create(0x3F3F3F3Fu, 0x0F0F0F0Fu, 0x3F3F3F3Fu, 0x0F0F0F0Fu);
        var high = Vector128.ShiftLeft(Vector128.ShiftRightLogical(Sse2.Shuffle(v, 0x50), 6) & Vector128.Create(0u, 0x03030303u, 0, 0x03030303u), 4);
        return (low | high).AsByte();
    }

    /// <summary>
    /// The same for four rows at once, one row's sixteen bytes per 128-bit lane (every operation above stays inside a
    /// lane); the sixteen-row Q4_K tiles use it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> ScaleMinK4(Vector512<uint> v)
    {
        var low = Avx512F.ShiftRightLogicalVariable(Avx512F.Shuffle(v, 0x98), Vector512.Create(0u, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4))
            & Vector512.Create(0x3F3F3F3Fu, 0x0F0F0F0Fu, 0x3F3F3F3Fu, 0x0F0F0F0Fu, 0x3F3F3F3Fu, 0x0F0F0F0Fu, 0x3F3F3F3Fu, 0x0F0F0F0Fu,
                0x3F3F3F3Fu, 0x0F0F0F0Fu, 0x3F3F3F3Fu, 0x0F0F0F0Fu, 0x3F3F3F3Fu, 0x0F0F0F0Fu, 0x3F3F3F3Fu, 0x0F0F0F0Fu);
        var high = Vector512.ShiftLeft(Vector512.ShiftRightLogical(Avx512F.Shuffle(v, 0x50), 6)
            & Vector512.Create(0u, 0x03030303u, 0, 0x03030303u, 0, 0x03030303u, 0, 0x03030303u, 0, 0x03030303u, 0, 0x03030303u, 0, 0x03030303u, 0, 0x03030303u), 4);
        return low | high;
    }
}

internal unsafe struct Q2_KBlock : ISuperBlock
{
    public static int GroupSize => 16;
    public static int BlockBytes => 84;
    public static int Offset => 0;
    public static bool HasMins => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Values(byte* block, int pair, out Vector256<byte> first, out Vector256<byte> second)
    {
        var q = Vector256.Load(block + 16 + 32 * (pair >> 1));
        int shift = 4 * (pair & 1);
        first = SuperBlockUnpack.Bits(q, shift, 0x03);
        second = SuperBlockUnpack.Bits(q, shift + 2, 0x03);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scales(byte* block, out Vector256<short> scales, out Vector256<short> mins)
    {
        var packed = Vector128.Load(block);
        scales = Avx2.ConvertToVector256Int16(packed & Vector128.Create((byte)0x0F));
        mins = Avx2.ConvertToVector256Int16(Vector128.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & Vector128.Create((byte)0x0F));
    }

    public static float D(byte* block) => HalfFloat.ToSingle(*(ushort*)(block + 80));
    public static float DMin(byte* block) => HalfFloat.ToSingle(*(ushort*)(block + 82));
}

internal unsafe struct Q3_KBlock : ISuperBlock
{
    public static int GroupSize => 16;
    public static int BlockBytes => 110;
    public static int Offset => 4;
    public static bool HasMins => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Values(byte* block, int pair, out Vector256<byte> first, out Vector256<byte> second)
    {
        var hm = Vector256.Load(block);
        var q = Vector256.Load(block + 32 + 32 * (pair >> 1));
        int shift = 4 * (pair & 1);
        // High bit of chunk c is bit c of the 32 mask bytes; it adds 4 to the two low bits.
        first = SuperBlockUnpack.Bits(q, shift, 0x03) | Vector256.ShiftLeft(SuperBlockUnpack.Bits(hm, 2 * pair, 0x01).AsUInt16(), 2).AsByte();
        second = SuperBlockUnpack.Bits(q, shift + 2, 0x03) | Vector256.ShiftLeft(SuperBlockUnpack.Bits(hm, 2 * pair + 1, 0x01).AsUInt16(), 2).AsByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scales(byte* block, out Vector256<short> scales, out Vector256<short> mins)
    {
        byte* packed = block + 96;
        uint a0 = *(uint*)packed, a1 = *(uint*)(packed + 4), a2 = *(uint*)(packed + 8);
        uint s0 = (a0 & 0x0F0F0F0Fu) | ((a2 & 0x03030303u) << 4);
        uint s1 = (a1 & 0x0F0F0F0Fu) | (((a2 >> 2) & 0x03030303u) << 4);
        uint s2 = ((a0 >> 4) & 0x0F0F0F0Fu) | (((a2 >> 4) & 0x03030303u) << 4);
        uint s3 = ((a1 >> 4) & 0x0F0F0F0Fu) | (((a2 >> 6) & 0x03030303u) << 4);
        var bytes = Vector128.Create(s0, s1, s2, s3).AsSByte() - Vector128.Create((sbyte)32);
        scales = Avx2.ConvertToVector256Int16(bytes);
        mins = default;
    }

    public static float D(byte* block) => HalfFloat.ToSingle(*(ushort*)(block + 108));
    public static float DMin(byte* block) => 0;
}

internal unsafe struct Q4_KBlock : ISuperBlock
{
    public static int GroupSize => 32;
    public static int BlockBytes => 144;
    public static int Offset => 0;
    public static bool HasMins => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Values(byte* block, int pair, out Vector256<byte> first, out Vector256<byte> second)
    {
        var q = Vector256.Load(block + 16 + 32 * pair);
        first = q & Vector256.Create((byte)0x0F);
        second = SuperBlockUnpack.Bits(q, 4, 0x0F);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scales(byte* block, out Vector256<short> scales, out Vector256<short> mins) => K4Header.Scales(block, out scales, out mins);

    public static float D(byte* block) => K4Header.D(block);
    public static float DMin(byte* block) => K4Header.DMin(block);
}

internal unsafe struct Q5_KBlock : ISuperBlock
{
    public static int GroupSize => 32;
    public static int BlockBytes => 176;
    public static int Offset => 0;
    public static bool HasMins => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Values(byte* block, int pair, out Vector256<byte> first, out Vector256<byte> second)
    {
        var qh = Vector256.Load(block + 16);
        var q = Vector256.Load(block + 48 + 32 * pair);
        first = (q & Vector256.Create((byte)0x0F)) | Vector256.ShiftLeft(SuperBlockUnpack.Bits(qh, 2 * pair, 0x01).AsUInt16(), 4).AsByte();
        second = SuperBlockUnpack.Bits(q, 4, 0x0F) | Vector256.ShiftLeft(SuperBlockUnpack.Bits(qh, 2 * pair + 1, 0x01).AsUInt16(), 4).AsByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scales(byte* block, out Vector256<short> scales, out Vector256<short> mins) => K4Header.Scales(block, out scales, out mins);

    public static float D(byte* block) => K4Header.D(block);
    public static float DMin(byte* block) => K4Header.DMin(block);
}

internal unsafe struct Q6_KBlock : ISuperBlock
{
    public static int GroupSize => 16;
    public static int BlockBytes => 210;
    public static int Offset => 32;
    public static bool HasMins => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Values(byte* block, int pair, out Vector256<byte> first, out Vector256<byte> second)
    {
        // Half h = pair/2 holds elements 128h…128h+127 in ql[64h…], qh[32h…]; pair 2h gives the low nibbles
        // (elements +0…63), pair 2h+1 the high nibbles (elements +64…127).
        int h = pair >> 1;
        var ql = Vector256.Load(block + 64 * h);
        var ql2 = Vector256.Load(block + 64 * h + 32);
        var qh = Vector256.Load(block + 128 + 32 * h);
        var low = Vector256.Create((byte)0x0F);
        if ((pair & 1) == 0)
        {
            first = (ql & low) | Vector256.ShiftLeft(SuperBlockUnpack.Bits(qh, 0, 0x03).AsUInt16(), 4).AsByte();
            second = (ql2 & low) | Vector256.ShiftLeft(SuperBlockUnpack.Bits(qh, 2, 0x03).AsUInt16(), 4).AsByte();
        }
        else
        {
            first = SuperBlockUnpack.Bits(ql, 4, 0x0F) | Vector256.ShiftLeft(SuperBlockUnpack.Bits(qh, 4, 0x03).AsUInt16(), 4).AsByte();
            second = SuperBlockUnpack.Bits(ql2, 4, 0x0F) | Vector256.ShiftLeft(SuperBlockUnpack.Bits(qh, 6, 0x03).AsUInt16(), 4).AsByte();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scales(byte* block, out Vector256<short> scales, out Vector256<short> mins)
    {
        scales = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(block + 192)));
        mins = default;
    }

    public static float D(byte* block) => HalfFloat.ToSingle(*(ushort*)(block + 208));
    public static float DMin(byte* block) => 0;
}

/// <summary>The header Q4_K and Q5_K share: f16 d and dmin, then twelve bytes of packed 6-bit scales and minimums.</summary>
internal static unsafe class K4Header
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scales(byte* block, out Vector256<short> scales, out Vector256<short> mins)
    {
        var bytes = SuperBlockUnpack.ScaleMinK4(block + 4);
        scales = SuperBlockUnpack.Doubled(bytes, 0);
        mins = SuperBlockUnpack.Doubled(bytes, 8);
    }

    public static float D(byte* block) => HalfFloat.ToSingle(*(ushort*)block);
    public static float DMin(byte* block) => HalfFloat.ToSingle(*(ushort*)(block + 2));
}
