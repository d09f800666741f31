namespace SharpInfer.Tensors;

/// <summary>
/// Scalar quantization from f32 into block formats, round-to-nearest as ggml's reference quantizers do
/// (no importance matrix), so files we write match llama.cpp's byte for byte where its algorithm is deterministic.
/// </summary>
public static unsafe partial class Quantize
{
    /// <summary>Quantizes <paramref name="count"/> floats (a whole number of blocks) into <paramref name="dst"/>.</summary>
    public static void Row(GgmlType type, float* src, void* dst, long count)
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
            case GgmlType.F16: F16(src, (ushort*)dst, count); break;
            case GgmlType.BF16: BF16(src, (ushort*)dst, count); break;
            case GgmlType.Q4_0: Q4_0(src, (BlockQ4_0*)dst, blocks); break;
            case GgmlType.Q4_1: Q4_1(src, (BlockQ4_1*)dst, blocks); break;
            case GgmlType.Q5_0: Q5_0(src, (BlockQ5_0*)dst, blocks); break;
            case GgmlType.Q5_1: Q5_1(src, (BlockQ5_1*)dst, blocks); break;
            case GgmlType.Q8_0: Q8_0(src, (BlockQ8_0*)dst, blocks); break;
            case GgmlType.Q8_1: Q8_1(src, (BlockQ8_1*)dst, blocks); break;
            case GgmlType.Q2_K: Q2_K(src, (BlockQ2_K*)dst, blocks); break;
            case GgmlType.Q3_K: Q3_K(src, (BlockQ3_K*)dst, blocks); break;
            case GgmlType.Q4_K: Q4_K(src, (BlockQ4_K*)dst, blocks); break;
            case GgmlType.Q5_K: Q5_K(src, (BlockQ5_K*)dst, blocks); break;
            case GgmlType.Q6_K: Q6_K(src, (BlockQ6_K*)dst, blocks); break;
            case GgmlType.Q8_K: Q8_K(src, (BlockQ8_K*)dst, blocks); break;
            case GgmlType.IQ4_NL: IQ4_NL(src, (BlockIQ4_NL*)dst, blocks); break;
            default: throw new NotSupportedException($"quantization to {type} is not supported");
        }
    }

    /// <summary>Span overload of <see cref="Row(GgmlType, float*, void*, long)"/>; sizes are checked.</summary>
    public static void Row(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        long need = GgmlTypeInfo.RowBytes(type, src.Length);
        if (dst.Length < need)
        {
            throw new ArgumentException($"{type}: {src.Length} elements need {need} bytes, got {dst.Length}", nameof(dst));
        }
        fixed (float* s = src)
        fixed (byte* d = dst)
        {
            Row(type, s, d, src.Length);
        }
    }

    private static void F16(float* x, ushort* y, long n)
    {
        for (long i = 0; i < n; i++) y[i] = HalfFloat.FromSingle(x[i]);
    }

    private static void BF16(float* x, ushort* y, long n)
    {
        for (long i = 0; i < n; i++) y[i] = BFloat16.FromSingle(x[i]);
    }
}
