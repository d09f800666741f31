namespace SharpInfer.Tensors;

/// <summary>
/// Scalar dequantization of every computable block format into f32. These are the reference twins the SIMD
/// kernels are tested against; they follow ggml's arithmetic order so results agree bit for bit.
/// </summary>
public static unsafe partial class Dequantize
{
    /// <summary>Dequantizes <paramref name="count"/> elements (a whole number of blocks) from <paramref name="src"/>.</summary>
    public static void Row(GgmlType type, void* src, float* dst, long count)
    {
        int block = GgmlTypeInfo.BlockSize(type);
        if (count % block != 0)
        {
            throw new ArgumentException($"{count} elements is not a whole number of {type} blocks", nameof(count));
        }
        long blocks = count / block;
        switch (type)
        {
            case GgmlType.F32: Buffer.MemoryCopy(src, dst, count * 4, count * 4); break;
            case GgmlType.F16: F16((ushort*)src, dst, count); break;
            case GgmlType.BF16: BF16((ushort*)src, dst, count); break;
            case GgmlType.Q4_0: Q4_0((BlockQ4_0*)src, dst, blocks); break;
            case GgmlType.Q4_1: Q4_1((BlockQ4_1*)src, dst, blocks); break;
            case GgmlType.Q5_0: Q5_0((BlockQ5_0*)src, dst, blocks); break;
            case GgmlType.Q5_1: Q5_1((BlockQ5_1*)src, dst, blocks); break;
            case GgmlType.Q8_0: Q8_0((BlockQ8_0*)src, dst, blocks); break;
            case GgmlType.Q8_1: Q8_1((BlockQ8_1*)src, dst, blocks); break;
            case GgmlType.Q2_K: Q2_K((BlockQ2_K*)src, dst, blocks); break;
            case GgmlType.Q3_K: Q3_K((BlockQ3_K*)src, dst, blocks); break;
            case GgmlType.Q4_K: Q4_K((BlockQ4_K*)src, dst, blocks); break;
            case GgmlType.Q5_K: Q5_K((BlockQ5_K*)src, dst, blocks); break;
            case GgmlType.Q6_K: Q6_K((BlockQ6_K*)src, dst, blocks); break;
            case GgmlType.Q8_K: Q8_K((BlockQ8_K*)src, dst, blocks); break;
            case GgmlType.IQ4_NL: IQ4_NL((BlockIQ4_NL*)src, dst, blocks); break;
            default: throw new NotSupportedException($"dequantization of {type} is not supported");
        }
    }

    /// <summary>Span overload of <see cref="Row(GgmlType, void*, float*, long)"/>; sizes are checked.</summary>
    public static void Row(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        long need = GgmlTypeInfo.RowBytes(type, dst.Length);
        if (src.Length < need)
        {
            throw new ArgumentException($"{type}: {dst.Length} elements need {need} bytes, got {src.Length}", nameof(src));
        }
        fixed (byte* s = src)
        fixed (float* d = dst)
        {
            Row(type, s, d, dst.Length);
        }
    }

    private static void F16(ushort* x, float* y, long n)
    {
        for (long i = 0; i < n; i++) y[i] = HalfFloat.ToSingle(x[i]);
    }

    private static void BF16(ushort* x, float* y, long n)
    {
        for (long i = 0; i < n; i++) y[i] = BFloat16.ToSingle(x[i]);
    }
}
