using System.Runtime.CompilerServices;

namespace SharpInfer.Tensors;

/// <summary>
/// IEEE half-precision conversions on raw 16-bit patterns. Widening goes through a 256 KiB table so the
/// scalar paths cost one load; narrowing rounds to nearest-even, as F16C's <c>vcvtps2ph</c> does.
/// </summary>
public static class HalfFloat
{
    private static readonly float[] ToSingleTable = BuildTable();

    private static float[] BuildTable()
    {
        var table = GC.AllocateUninitializedArray<float>(65536, pinned: true);
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = (float)BitConverter.UInt16BitsToHalf((ushort)i);
        }
        return table;
    }

    /// <summary>Widens a half bit pattern to float (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits) => Unsafe.Add(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(ToSingleTable), bits);

    /// <summary>Narrows a float to a half bit pattern, round to nearest-even, overflow to infinity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>Pinned table of all 65536 widened values, for kernels that gather.</summary>
    internal static float[] Table => ToSingleTable;
}

/// <summary>bfloat16 conversions on raw 16-bit patterns (the top half of an IEEE float).</summary>
public static class BFloat16
{
    /// <summary>Widens a bf16 bit pattern to float (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Narrows a float to bf16, round to nearest-even; NaN stays NaN (made quiet).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if ((u & 0x7fffffffu) > 0x7f800000u)
        {
            return (ushort)((u >> 16) | 0x40);
        }
        uint roundingBias = 0x7fffu + ((u >> 16) & 1u);
        return (ushort)((u + roundingBias) >> 16);
    }
}
