using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Cli;

public class QuantizeCommandTests
{
    [Fact]
    public void QuantizesTheF32SynthToQ8_0ExactlyAsLlamaCpp()
    {
        string dir = Directory.CreateTempSubdirectory("sharpinfer-q-").FullName;
        try
        {
            string output = Path.Combine(dir, "q8.gguf");
            var r = CliRunner.Run("quantize", SharedData.Synth("F32"), output, "q8_0");
            Assert.True(r.ExitCode == 0, r.Err);
            using var ours = GgufFile.Open(output);
            using var theirs = GgufFile.Open(SharedData.Synth("Q8_0"));
            Assert.Equal(7u, ours.Metadata.GetUInt32("general.file_type"));
            foreach (var t in theirs.Tensors)
            {
                var mine = ours.GetTensor(t.Name);
                Assert.Equal(t.Type, mine.Type);
                Assert.True(theirs.GetData(t).SequenceEqual(ours.GetData(mine)), $"tensor {t.Name} differs");
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void NormsStayF32AndKQuantsWork()
    {
        string dir = Directory.CreateTempSubdirectory("sharpinfer-q-").FullName;
        try
        {
            string output = Path.Combine(dir, "q4k.gguf");
            var r = CliRunner.Run("quantize", SharedData.Synth("F32"), output, "Q4_K");
            Assert.True(r.ExitCode == 0, r.Err);
            using var f = GgufFile.Open(output);
            Assert.Equal(GgmlType.F32, f.GetTensor("output_norm.weight").Type);
            Assert.Equal(GgmlType.F32, f.GetTensor("blk.1.ffn_norm.weight").Type);
            Assert.Equal(GgmlType.Q4_K, f.GetTensor("blk.1.ffn_down.weight").Type);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void RejectedTypesAndTensorsGetClearErrors()
    {
        string dir = Directory.CreateTempSubdirectory("sharpinfer-q-").FullName;
        try
        {
            string output = Path.Combine(dir, "out.gguf");
            var badType = CliRunner.Run("quantize", SharedData.Synth("F32"), output, "Q9_9");
            Assert.Equal(2, badType.ExitCode);
            Assert.Contains("Q9_9", badType.Err);
            // stories260K's feed-forward rows are 172 wide: no 32-element block fits.
            var badRows = CliRunner.Run("quantize", SharedData.Stories, output, "Q4_0");
            Assert.Equal(1, badRows.ExitCode);
            Assert.Contains("172", badRows.Err);
            Assert.False(File.Exists(output));
            var requant = CliRunner.Run("quantize", SharedData.Synth("Q4_0"), output, "Q8_0");
            Assert.Equal(1, requant.ExitCode);
            Assert.Contains("already", requant.Err);
            var kept = CliRunner.Run("quantize", SharedData.Stories, output, "Q8_0", "--keep-unquantizable");
            Assert.Equal(0, kept.ExitCode);
            Assert.Contains("warning", kept.Err);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
