using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Widening of f16/bf16 vectors to f32 without F16C (which .NET does not expose): normals are shifted into place and
/// re-biased with an integer add, subnormals converted from their integer mantissa and scaled by 2^-24, infinities and
/// NaNs patched with a compare. No step computes with a float subnormal (those cost a microcode assist on x86).
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
        var normal = (shifted + Vector128.Create(0x38000000u)).AsSingle();
        var subnormal = Vector128.ConvertToSingle(em.AsInt32()) * Vector128.Create(5.9604645e-8f);
        var special = (shifted | Vector128.Create(0x7F800000u)).AsSingle();
        var value = Vector128.ConditionalSelect(Vector128.LessThan(em, Vector128.Create(0x0400u)).AsSingle(), subnormal, normal);
        value = Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(em, Vector128.Create(0x7C00u)).AsSingle(), special, value);
        return value | sign.AsSingle();
    }

    /// <summary>
    /// The two f16 values packed in <paramref name="bits"/> (low half first) in lanes 0 and 1, without branches: a
    /// scalar conversion's branches make the JIT spill a kernel's live vectors around them. SSE4.1 (one
    /// <c>vpmovzxwd</c>): its callers are the AVX-512 row kernels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> F16PairToSingle(uint bits) =>
        F16ToSingle(Sse41.ConvertToVector128Int32(Vector128.CreateScalar(bits).AsUInt16()).AsUInt32());

    /// <summary>Eight f16 bit patterns → eight floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> F16ToSingle(Vector128<ushort> h) =>
        FromBits(Widen(h));

    /// <summary>Sixteen f16 bit patterns → sixteen floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> F16ToSingle(Vector256<ushort> h) =>
        FromBits(Widen(h));

    /// <summary>Eight f16 bit patterns in the low halves of the lanes (the high halves are ignored) → eight floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> FromBits(Vector256<uint> h)
    {
        var em = h & Vector256.Create(0x7FFFu);
        var sign = Vector256.ShiftLeft(h & Vector256.Create(0x8000u), 16);
        var shifted = Vector256.ShiftLeft(em, 13);
        var normal = (shifted + Vector256.Create(0x38000000u)).AsSingle();
        var subnormal = Vector256.ConvertToSingle(em.AsInt32()) * Vector256.Create(5.9604645e-8f);
        var special = (shifted | Vector256.Create(0x7F800000u)).AsSingle();
        var value = Vector256.ConditionalSelect(Vector256.LessThan(em, Vector256.Create(0x0400u)).AsSingle(), subnormal, normal);
        value = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(em, Vector256.Create(0x7C00u)).AsSingle(), special, value);
        return value | sign.AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> FromBits(Vector512<uint> h)
    {
        var em = h & Vector512.Create(0x7FFFu);
        var sign = Vector512.ShiftLeft(h & Vector512.Create(0x8000u), 16);
        var shifted = Vector512.ShiftLeft(em, 13);
        var normal = (shifted + Vector512.Create(0x38000000u)).AsSingle();
        var subnormal = Vector512.ConvertToSingle(em.AsInt32()) * Vector512.Create(5.9604645e-8f);
        var special = (shifted | Vector512.Create(0x7F800000u)).AsSingle();
        var value = Vector512.ConditionalSelect(Vector512.LessThan(em, Vector512.Create(0x0400u)).AsSingle(), subnormal, normal);
        value = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(em, Vector512.Create(0x7C00u)).AsSingle(), special, value);
        return value | sign.AsSingle();
    }

    /// <summary>Eight bf16 bit patterns → eight floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> BF16ToSingle(Vector128<ushort> h) =>
        Vector256.ShiftLeft(Widen(h), 16).AsSingle();

    /// <summary>Sixteen bf16 bit patterns → sixteen floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> BF16ToSingle(Vector256<ushort> h) =>
        Vector512.ShiftLeft(Widen(h), 16).AsSingle();

    // One vpmovzxwd where the ISA has it: composing a wide vector from two halves with Vector512.Create goes through
    // the stack in .NET 10's JIT and costs a store-forwarding round trip per call.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Widen(Vector128<ushort> h) =>
        Avx2.IsSupported ? Avx2.ConvertToVector256Int32(h).AsUInt32() : Vector256.Create(Vector128.WidenLower(h), Vector128.WidenUpper(h));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Widen(Vector256<ushort> h) =>
        Avx512F.IsSupported ? Avx512F.ConvertToVector512UInt32(h) : Vector512.Create(Vector256.WidenLower(h), Vector256.WidenUpper(h));
}

/// <summary>A 16-bit float format that widens to f32, so a kernel can be written once for f16 and bf16.</summary>
public interface IHalfFormat
{
    /// <summary>Eight values.</summary>
    static abstract Vector256<float> Widen(Vector128<ushort> h);

    /// <summary>Sixteen values.</summary>
    static abstract Vector512<float> Widen(Vector256<ushort> h);

    /// <summary>One value.</summary>
    static abstract float ToSingle(ushort h);
}

/// <summary>IEEE half precision.</summary>
public readonly struct F16Format : IHalfFormat
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Widen(Vector128<ushort> h) => HalfVector.F16ToSingle(h);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Widen(Vector256<ushort> h) => HalfVector.F16ToSingle(h);

    /// <inheritdoc/>
    public static float ToSingle(ushort h) => Tensors.HalfFloat.ToSingle(h);
}

/// <summary>bfloat16.</summary>
public readonly struct BF16Format : IHalfFormat
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Widen(Vector128<ushort> h) => HalfVector.BF16ToSingle(h);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Widen(Vector256<ushort> h) => HalfVector.BF16ToSingle(h);

    /// <inheritdoc/>
    public static float ToSingle(ushort h) => Tensors.BFloat16.ToSingle(h);
}
