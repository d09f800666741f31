using SharpInfer.Gguf;
using SharpInfer.Tensors;
using Xunit.Abstractions;

namespace SharpInfer.Tests.Tensors;

/// <summary>
/// Every dequantizer against ggml's own dequantization of the same tensor, and against the F32 weights the
/// quantized files were made from.
/// </summary>
public class DequantizeReferenceTests(ITestOutputHelper output)
{
    public static TheoryData<string> Types => new(SharedData.DequantReferenceTypes);

    /// <summary>Bit for bit equal to ggml's dump (its <c>to_float</c> of the first 16384 values of blk.0.attn_q).</summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void MatchesGgmlBitForBit(string typeName)
    {
        var reference = ReadFloats(SharedData.File($"reference/dequant/synth-llama-{typeName}.blk.0.attn_q.weight.f32"));
        Assert.Equal(16384, reference.Length);
        // The dumps were all zeros by mistake until 2026-12-02: a zero dump would make this comparison vacuous.
        Assert.True(reference.Count(v => v != 0) > reference.Length / 2, $"{typeName}: the reference dump is (mostly) zeros");
        var ours = DequantizeFirst(typeName, reference.Length);
        int exact = 0, first = -1;
        for (int i = 0; i < ours.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(reference[i]) == BitConverter.SingleToInt32Bits(ours[i])) exact++;
            else if (first < 0) first = i;
        }
        output.WriteLine($"{typeName}: {exact}/{ours.Length} bit-exact");
        Assert.True(first < 0, $"{typeName}: element {first} is {(first < 0 ? 0 : ours[first]):R}, ggml gives {(first < 0 ? 0 : reference[first]):R} ({ours.Length - exact} differ)");
    }

    [Theory]
    [InlineData("F16")]
    [InlineData("BF16")]
    public void HalfFormatsAreTheRoundedF32Source(string typeName)
    {
        var source = F32Source(16384);
        var ours = DequantizeFirst(typeName, source.Length);
        for (int i = 0; i < source.Length; i++)
        {
            float expected = typeName == "F16"
                ? HalfFloat.ToSingle(HalfFloat.FromSingle(source[i]))
                : BFloat16.ToSingle(BFloat16.FromSingle(source[i]));
            Assert.Equal(expected, ours[i]);
        }
    }

    /// <summary>
    /// The file was quantized from the F32 file by llama.cpp, so dequantizing it must land close to the source.
    /// A wrong nibble order, scale unpacking or sub-block layout gives an error near the signal itself (ratio ~1.4);
    /// the bounds are a few times the format's typical error.
    /// </summary>
    [Theory]
    [InlineData("Q8_0", 0.01)]
    [InlineData("Q6_K", 0.03)]
    [InlineData("Q5_0", 0.06)]
    [InlineData("Q5_1", 0.06)]
    [InlineData("Q5_K_S", 0.06)]
    [InlineData("Q4_0", 0.12)]
    [InlineData("Q4_1", 0.12)]
    [InlineData("Q4_K_S", 0.12)]
    [InlineData("IQ4_NL", 0.12)]
    [InlineData("Q3_K_S", 0.25)]
    [InlineData("Q2_K", 0.5)]
    public void DequantizedFileTracksTheF32Source(string typeName, double maxRelativeRmse)
    {
        var source = F32Source(65536);
        var ours = DequantizeFirst(typeName, source.Length);
        double err = 0, sig = 0;
        for (int i = 0; i < source.Length; i++)
        {
            err += Math.Pow(source[i] - ours[i], 2);
            sig += Math.Pow(source[i], 2);
        }
        double ratio = Math.Sqrt(err / sig);
        output.WriteLine($"{typeName}: relative RMSE {ratio:F4}");
        Assert.True(ratio < maxRelativeRmse, $"{typeName}: relative RMSE {ratio:F4} ≥ {maxRelativeRmse}");
    }

    private static float[] F32Source(int count)
    {
        using var f32 = GgufFile.Open(SharedData.Synth("F32"));
        var values = new float[count];
        Dequantize.Row(GgmlType.F32, f32.GetData(f32.GetTensor("blk.0.attn_q.weight"))[..(count * 4)], values);
        return values;
    }

    private static float[] DequantizeFirst(string typeName, int count)
    {
        using var file = GgufFile.Open(SharedData.Synth(typeName));
        var tensor = file.GetTensor("blk.0.attn_q.weight");
        var values = new float[count];
        long bytes = GgmlTypeInfo.RowBytes(tensor.Type, count);
        Dequantize.Row(tensor.Type, file.GetData(tensor)[..(int)bytes], values);
        return values;
    }

    internal static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var floats = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, floats, 0, floats.Length * 4);
        return floats;
    }
}
