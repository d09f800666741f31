namespace SharpInfer.Kernels;

/// <summary>A row dot product as a type parameter (so multi-row wrappers specialise without indirect calls).</summary>
internal unsafe interface IRowDot
{
    static abstract float Dot(byte* w, Q8Row a, int n);
}

/// <summary>
/// Four-row and four-by-four shapes built from a row dot product: the scalar reference kernels' tiles, and the decode
/// kernels' four rows, which read one row after the other (see <see cref="DecodePrefetch"/>).
/// </summary>
internal static unsafe class RowTiles<T> where T : struct, IRowDot
{
    public static void Dot4Rows(byte* w, long rowBytes, Q8Row a, int n, float* output)
    {
        for (int r = 0; r < 4; r++) output[r] = T.Dot(w + r * rowBytes, a, n);
    }

    public static void Tile4x4(byte* w, long rowBytes, Q8Row a0, Q8Row a1, Q8Row a2, Q8Row a3, int n, float* output, long outputStride)
    {
        Dot4Rows(w, rowBytes, a0, n, output);
        Dot4Rows(w, rowBytes, a1, n, output + outputStride);
        Dot4Rows(w, rowBytes, a2, n, output + 2 * outputStride);
        Dot4Rows(w, rowBytes, a3, n, output + 3 * outputStride);
    }
}

internal unsafe struct ScalarQ4_0 : IRowDot { public static float Dot(byte* w, Q8Row a, int n) => QuantizedDot.Q4_0Scalar(w, a, n); }
internal unsafe struct ScalarQ4_1 : IRowDot { public static float Dot(byte* w, Q8Row a, int n) => QuantizedDot.Q4_1Scalar(w, a, n); }
internal unsafe struct ScalarQ5_0 : IRowDot { public static float Dot(byte* w, Q8Row a, int n) => QuantizedDot.Q5_0Scalar(w, a, n); }
internal unsafe struct ScalarQ5_1 : IRowDot { public static float Dot(byte* w, Q8Row a, int n) => QuantizedDot.Q5_1Scalar(w, a, n); }
internal unsafe struct ScalarQ8_0 : IRowDot { public static float Dot(byte* w, Q8Row a, int n) => QuantizedDot.Q8_0Scalar(w, a, n); }
internal unsafe struct ScalarIQ4_NL : IRowDot { public static float Dot(byte* w, Q8Row a, int n) => QuantizedDot.IQ4_NLScalar(w, a, n); }
internal unsafe struct ScalarQ2_K : IRowDot { public static float Dot(byte* w, Q8Row a, int n) => QuantizedDot.Q2_KScalar(w, a, n); }
internal unsafe struct ScalarQ3_K : IRowDot { public static float Dot(byte* w, Q8Row a, int n) => QuantizedDot.Q3_KScalar(w, a, n); }
internal unsafe struct ScalarQ4_K : IRowDot { public static float Dot(byte* w, Q8Row a, int n) => QuantizedDot.Q4_KScalar(w, a, n); }
internal unsafe struct ScalarQ5_K : IRowDot { public static float Dot(byte* w, Q8Row a, int n) => QuantizedDot.Q5_KScalar(w, a, n); }
internal unsafe struct ScalarQ6_K : IRowDot { public static float Dot(byte* w, Q8Row a, int n) => QuantizedDot.Q6_KScalar(w, a, n); }

/// <summary>The SIMD row kernels as <see cref="IRowDot"/> types, for <see cref="RowTiles{T}.Dot4Rows"/>.</summary>
internal unsafe struct Block32Row<T> : IRowDot where T : struct, IBlock32
{
    public static float Dot(byte* w, Q8Row a, int n) => Block32Kernels<T>.Dot(w, a, n);
}

/// <inheritdoc cref="Block32Row{T}"/>
internal unsafe struct SuperBlockRow<T> : IRowDot where T : struct, ISuperBlock
{
    public static float Dot(byte* w, Q8Row a, int n) => SuperBlockKernels<T>.Dot(w, a, n);
}

/// <inheritdoc cref="Block32Row{T}"/>
internal unsafe struct Block32WideRow<T> : IRowDot where T : struct, IBlock32
{
    public static float Dot(byte* w, Q8Row a, int n) => Block32WideDecode<T>.Dot(w, a, n);
}

/// <inheritdoc cref="Block32Row{T}"/>
internal unsafe struct Q4KWideRow : IRowDot
{
    public static float Dot(byte* w, Q8Row a, int n) => KQuantWideDecode.Q4K(w, a, n);
}

/// <inheritdoc cref="Block32Row{T}"/>
internal unsafe struct Q6KWideRow : IRowDot
{
    public static float Dot(byte* w, Q8Row a, int n) => KQuantWideDecode.Q6K(w, a, n);
}
