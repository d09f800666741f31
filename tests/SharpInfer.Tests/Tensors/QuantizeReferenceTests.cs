using SharpInfer.Gguf;
using SharpInfer.Tensors;
using Xunit.Abstractions;

namespace SharpInfer.Tests.Tensors;

/// <summary>Our quantizers against the files llama.cpp's quantizer wrote from the same F32 weights.</summary>
public class QuantizeReferenceTests(ITestOutputHelper output)
{
    private static float[] SourceWeights(out long rows, out long rowLength)
    {
        using var f32 = GgufFile.Open(SharedData.Synth("F32"));
        var t = f32.GetTensor("blk.0.attn_q.weight");
        rows = t.RowCount;
        rowLength = t.RowLength;
        var values = new float[t.ElementCount];
        Dequantize.Row(GgmlType.F32, f32.GetData(t), values);
        return values;
    }

    [Theory]
    [InlineData("Q8_0", GgmlType.Q8_0)]
    [InlineData("Q4_0", GgmlType.Q4_0)]
    [InlineData("Q4_1", GgmlType.Q4_1)]
    [InlineData("Q5_0", GgmlType.Q5_0)]
    [InlineData("Q5_1", GgmlType.Q5_1)]
    [InlineData("F16", GgmlType.F16)]
    [InlineData("BF16", GgmlType.BF16)]
    public void DeterministicFormatsAreByteIdentical(string file, GgmlType type)
    {
        var source = SourceWeights(out _, out _);
        var ours = new byte[GgmlTypeInfo.RowBytes(type, source.Length)];
        Quantize.Row(type, source, ours);

        using var reference = GgufFile.Open(SharedData.Synth(file));
        var expected = reference.GetData(reference.GetTensor("blk.0.attn_q.weight")).ToArray();
        Assert.Equal(expected.Length, ours.Length);
        int firstDiff = Array.FindIndex(ours, 0, i => false);
        for (int i = 0; i < ours.Length; i++)
        {
            if (ours[i] != expected[i])
            {
                Assert.Fail($"{type}: first differing byte {i} (block {i / GgmlTypeInfo.BlockBytes(type)}): ours {ours[i]:X2}, llama.cpp {expected[i]:X2}");
            }
        }
    }

    [Theory]
    [InlineData("Q4_K_S", GgmlType.Q4_K)]
    [InlineData("Q5_K_S", GgmlType.Q5_K)]
    [InlineData("Q6_K", GgmlType.Q6_K)]
    [InlineData("IQ4_NL", GgmlType.IQ4_NL)]
    [InlineData("Q2_K", GgmlType.Q2_K)]
    [InlineData("Q3_K_S", GgmlType.Q3_K)]
    public void SearchFormatsAreAsAccurateAsLlamaCpp(string file, GgmlType type)
    {
        var source = SourceWeights(out _, out _);
        var ours = new byte[GgmlTypeInfo.RowBytes(type, source.Length)];
        Quantize.Row(type, source, ours);
        var back = new float[source.Length];
        Dequantize.Row(type, ours, back);

        using var reference = GgufFile.Open(SharedData.Synth(file));
        var theirs = new float[source.Length];
        Dequantize.Row(type, reference.GetData(reference.GetTensor("blk.0.attn_q.weight")), theirs);

        double oursRmse = Rmse(source, back), theirsRmse = Rmse(source, theirs);
        output.WriteLine($"{type}: RMSE ours {oursRmse:E4}, llama.cpp {theirsRmse:E4}");
        Assert.True(oursRmse <= theirsRmse * 1.10, $"{type}: RMSE {oursRmse:E4} vs llama.cpp {theirsRmse:E4}");
    }

    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    [InlineData(GgmlType.IQ4_NL)]
    [InlineData(GgmlType.Q8_K)]
    public void AllZeroBlocksStayZero(GgmlType type)
    {
        var zeros = new float[512];
        var bytes = new byte[GgmlTypeInfo.RowBytes(type, zeros.Length)];
        Quantize.Row(type, zeros, bytes);
        var back = new float[zeros.Length];
        Dequantize.Row(type, bytes, back);
        Assert.All(back, v => Assert.Equal(0f, v));
    }

    private static double Rmse(float[] a, float[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += (double)(a[i] - b[i]) * (a[i] - b[i]);
        return Math.Sqrt(sum / a.Length);
    }
}
