using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpInfer.Kernels;

/// <summary>
/// Widening of f16/bf16 vectors to f32 without F16C (which .NET does not expose): the half's exponent and mantissa are
/// shifted into place and rescaled by 2^112 with one multiply (this also gets subnormals right); infinities and NaNs
/// are patched with a compare.
/// </summary>
public static class HalfVector
{
    /// <summary>Four f16 bit patterns, one in the low half of each lane → four floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> F16ToSingle(Vector128<uint> h)
    {
        var em = h & Vector128.Create(0x7FFFu);
        var sign = Vector128.ShiftLeft(h & Vector128.Create(0x8000u), 16);
        var shifted = Vector128.ShiftLeft(em, 13);
        var finite = shifted.AsSingle() * Vector128.Create(5.192297e33f);
        var special = (shifted | Vector128.Create(0x7F800000u)).AsSingle();
        var isSpecial = Vector128.GreaterThanOrEqual(em, Vector128.Create(0x7C00u)).AsSingle();
        return Vector128.ConditionalSelect(isSpecial, special, finite) | sign.AsSingle();
    }

    /// <summary>Eight f16 bit patterns → eight floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> F16ToSingle(Vector128<ushort> h) =>
        FromBits(Vector256.Create(Vector128.WidenLower(h), Vector128.WidenUpper(h)));

    /// <summary>Sixteen f16 bit patterns → sixteen floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> F16ToSingle(Vector256<ushort> h) =>
        FromBits(Vector512.Create(Vector256.WidenLower(h), Vector256.WidenUpper(h)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> FromBits(Vector256<uint> h)
    {
        var em = h & Vector256.Create(0x7FFFu);
        var sign = Vector256.ShiftLeft(h & Vector256.Create(0x8000u), 16);
        var shifted = Vector256.ShiftLeft(em, 13);
        var finite = shifted.AsSingle() * Vector256.Create(5.192297e33f);
        var special = (shifted | Vector256.Create(0x7F800000u)).AsSingle();
        var isSpecial = Vector256.GreaterThanOrEqual(em, Vector256.Create(0x7C00u)).AsSingle();
        return Vector256.ConditionalSelect(isSpecial, special, finite) | sign.AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> FromBits(Vector512<uint> h)
    {
        var em = h & Vector512.Create(0x7FFFu);
        var sign = Vector512.ShiftLeft(h & Vector512.Create(0x8000u), 16);
        var shifted = Vector512.ShiftLeft(em, 13);
        var finite = shifted.AsSingle() * Vector512.Create(5.192297e33f);
        var special = (shifted | Vector512.Create(0x7F800000u)).AsSingle();
        var isSpecial = Vector512.GreaterThanOrEqual(em, Vector512.Create(0x7C00u)).AsSingle();
        return Vector512.ConditionalSelect(isSpecial, special, finite) | sign.AsSingle();
    }

    /// <summary>Eight bf16 bit patterns → eight floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> BF16ToSingle(Vector128<ushort> h) =>
        Vector256.ShiftLeft(Vector256.Create(Vector128.WidenLower(h), Vector128.WidenUpper(h)), 16).AsSingle();

    /// <summary>Sixteen bf16 bit patterns → sixteen floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> BF16ToSingle(Vector256<ushort> h) =>
        Vector512.ShiftLeft(Vector512.Create(Vector256.WidenLower(h), Vector256.WidenUpper(h)), 16).AsSingle();
}
