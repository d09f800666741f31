using System.Runtime.CompilerServices;

namespace SharpInfer.Tensors;

/// <summary>
/// IEEE half-precision conversions on raw 16-bit patterns. Widening is arithmetic (no table, so hot loops touch no
/// extra cache lines and need no static initialisation check) and never computes with float subnormals, which cost a
/// microcode assist per operation on x86: normals re-bias the exponent with an integer add, half subnormals (common for
/// the tiny super-block scales of K-quants) are their integer mantissa times 2^-24. Narrowing rounds to nearest-even,
/// as F16C's <c>vcvtps2ph</c> does.
/// </summary>
public static class HalfFloat
{
    /// <summary>Widens a half bit pattern to float (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits)
    {
        uint em = bits & 0x7FFFu;
        float magnitude;
        if (em < 0x0400u) magnitude = em * 5.9604645e-8f; // subnormal or zero: m·2^-24, exact
        else if (em < 0x7C00u) magnitude = BitConverter.UInt32BitsToSingle((em << 13) + 0x38000000u); // exponent 15 → 127
        else magnitude = BitConverter.UInt32BitsToSingle((em << 13) | 0x7F800000u); // infinity, NaN (payload kept)
        return BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(magnitude) | ((bits & 0x8000u) << 16));
    }

    /// <summary>Narrows a float to a half bit pattern, round to nearest-even, overflow to infinity.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float value) => BitConverter.HalfToUInt16Bits((Half)value);

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
