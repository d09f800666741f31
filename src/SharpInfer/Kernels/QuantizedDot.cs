using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>
/// Dot products of one quantized weight row with one <see cref="Q8Row"/> activation row, in integer arithmetic
/// per block and float across blocks. Each format has a scalar reference (<c>…Scalar</c>, the twin that the SIMD
/// paths are tested against); <see cref="For"/> picks the fastest path the CPU supports.
/// </summary>
public static unsafe partial class QuantizedDot
{
    /// <summary>Signature of a weight-row × activation-row dot product over <c>n</c> elements.</summary>
    public delegate float RowDot(byte* weights, Q8Row activations, int n);

    /// <summary>Whether <paramref name="type"/> uses the 256-element activation layout.</summary>
    public static bool UsesSuperBlocks(GgmlType type) => type is GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>Whether a weight type is computed with quantized activations (else f32 activations).</summary>
    public static bool IsQuantizedPath(GgmlType type) => type is GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1
        or GgmlType.Q8_0 or GgmlType.IQ4_NL || UsesSuperBlocks(type);

    /// <summary>The dot product for a weight type (fastest supported path).</summary>
    public static delegate*<byte*, Q8Row, int, float> For(GgmlType type) => ScalarFor(type);

    /// <summary>The scalar reference dot product for a weight type.</summary>
    public static delegate*<byte*, Q8Row, int, float> ScalarFor(GgmlType type) => type switch
    {
        GgmlType.Q4_0 => &Q4_0Scalar,
        GgmlType.Q4_1 => &Q4_1Scalar,
        GgmlType.Q5_0 => &Q5_0Scalar,
        GgmlType.Q5_1 => &Q5_1Scalar,
        GgmlType.Q8_0 => &Q8_0Scalar,
        GgmlType.IQ4_NL => &IQ4_NLScalar,
        GgmlType.Q2_K => &Q2_KScalar,
        GgmlType.Q3_K => &Q3_KScalar,
        GgmlType.Q4_K => &Q4_KScalar,
        GgmlType.Q5_K => &Q5_KScalar,
        GgmlType.Q6_K => &Q6_KScalar,
        _ => throw new NotSupportedException($"no quantized dot product for {type}"),
    };
}
