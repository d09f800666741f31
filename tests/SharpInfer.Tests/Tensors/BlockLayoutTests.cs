using SharpInfer.Tensors;

namespace SharpInfer.Tests.Tensors;

public unsafe class BlockLayoutTests
{
    [Fact]
    public void StructSizesMatchTheGgufSpecification()
    {
        Assert.Equal(18, sizeof(BlockQ4_0));
        Assert.Equal(20, sizeof(BlockQ4_1));
        Assert.Equal(22, sizeof(BlockQ5_0));
        Assert.Equal(24, sizeof(BlockQ5_1));
        Assert.Equal(34, sizeof(BlockQ8_0));
        Assert.Equal(36, sizeof(BlockQ8_1));
        Assert.Equal(84, sizeof(BlockQ2_K));
        Assert.Equal(110, sizeof(BlockQ3_K));
        Assert.Equal(144, sizeof(BlockQ4_K));
        Assert.Equal(176, sizeof(BlockQ5_K));
        Assert.Equal(210, sizeof(BlockQ6_K));
        Assert.Equal(292, sizeof(BlockQ8_K));
        Assert.Equal(18, sizeof(BlockIQ4_NL));
    }

    [Theory]
    [InlineData(GgmlType.Q4_0, 32, 18)]
    [InlineData(GgmlType.Q4_1, 32, 20)]
    [InlineData(GgmlType.Q5_0, 32, 22)]
    [InlineData(GgmlType.Q5_1, 32, 24)]
    [InlineData(GgmlType.Q8_0, 32, 34)]
    [InlineData(GgmlType.Q8_1, 32, 36)]
    [InlineData(GgmlType.Q2_K, 256, 84)]
    [InlineData(GgmlType.Q3_K, 256, 110)]
    [InlineData(GgmlType.Q4_K, 256, 144)]
    [InlineData(GgmlType.Q5_K, 256, 176)]
    [InlineData(GgmlType.Q6_K, 256, 210)]
    [InlineData(GgmlType.Q8_K, 256, 292)]
    [InlineData(GgmlType.IQ4_NL, 32, 18)]
    [InlineData(GgmlType.F16, 1, 2)]
    [InlineData(GgmlType.BF16, 1, 2)]
    [InlineData(GgmlType.F32, 1, 4)]
    public void TraitsAgreeWithLayouts(GgmlType type, int blockSize, int blockBytes)
    {
        Assert.Equal(blockSize, GgmlTypeInfo.BlockSize(type));
        Assert.Equal(blockBytes, GgmlTypeInfo.BlockBytes(type));
        Assert.True(GgmlTypeInfo.CanDequantize(type));
    }

    [Fact]
    public void RowBytesRefusesPartialBlocks()
    {
        Assert.Equal(34 * 3, GgmlTypeInfo.RowBytes(GgmlType.Q8_0, 96));
        Assert.Throws<ArgumentException>(() => GgmlTypeInfo.RowBytes(GgmlType.Q8_0, 172));
    }

    [Fact]
    public void HalfAndBFloat16RoundTripEveryFinitePattern()
    {
        for (int bits = 0; bits < 65536; bits++)
        {
            float h = HalfFloat.ToSingle((ushort)bits);
            if (!float.IsNaN(h)) Assert.Equal((ushort)bits, HalfFloat.FromSingle(h));
            float b = BFloat16.ToSingle((ushort)bits);
            if (!float.IsNaN(b)) Assert.Equal((ushort)bits, BFloat16.FromSingle(b));
        }
    }

    [Fact]
    public void BFloat16RoundsToNearestEven()
    {
        // 1 + 2^-8 is exactly half-way between two bf16 values: ties go to the even mantissa (1.0).
        Assert.Equal(BFloat16.FromSingle(1f), BFloat16.FromSingle(1f + MathF.Pow(2, -8)));
        // 1 + 3·2^-8 is half-way too and rounds up to the even neighbour 1 + 2^-6.
        Assert.Equal(BFloat16.FromSingle(1f + MathF.Pow(2, -6)), BFloat16.FromSingle(1f + 3 * MathF.Pow(2, -8)));
        Assert.True(float.IsNaN(BFloat16.ToSingle(BFloat16.FromSingle(float.NaN))));
    }
}
