using System.Text.Json;
using SharpInfer.Gguf;

namespace SharpInfer.Tests.Cli;

/// <summary>
/// <c>synth</c> writes a loadable random-weight model of a real shape in a quantization mix, and <c>bench</c> measures
/// it with llama-bench's test names, in markdown and JSON, with the phase breakdown; bad options fail in one line.
/// </summary>
public sealed class SynthBenchCommandTests : IClassFixture<SynthBenchCommandTests.SmolModel>
{
    /// <summary>smollm-135m in Q4_K_M, written once for the class.</summary>
    public sealed class SmolModel : IDisposable
    {
        public SmolModel()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"sharpinfer-synth-{Guid.NewGuid():N}.gguf");
            Result = CliRunner.Run("synth", "--shape", "smollm-135m", "--type", "Q4_K_M", "-o", Path,
                "--vocab-from", SharedData.File("vocab/ggml-vocab-llama-spm.gguf"));
        }

        public string Path { get; }
        public CliRunner.Result Result { get; }

        public void Dispose() => File.Delete(Path);
    }

    private readonly SmolModel _model;

    public SynthBenchCommandTests(SmolModel model) => _model = model;

    [Fact]
    public void SynthWritesTheShapeAndTheMix()
    {
        Assert.True(_model.Result.ExitCode == 0, _model.Result.Err);
        using var file = GgufFile.Open(_model.Path);
        Assert.Equal("llama", file.Metadata.GetString("general.architecture"));
        Assert.Equal(30u, file.Metadata.GetUInt32("llama.block_count"));
        Assert.Equal(576u, file.Metadata.GetUInt32("llama.embedding_length"));
        Assert.Equal(1536u, file.Metadata.GetUInt32("llama.feed_forward_length"));
        Assert.Equal(9u, file.Metadata.GetUInt32("llama.attention.head_count"));
        Assert.Equal(3u, file.Metadata.GetUInt32("llama.attention.head_count_kv"));
        var matrixTypes = file.Tensors.Where(t => t.Rank == 2).Select(t => t.Type.ToString()).ToHashSet();
        Assert.Contains("Q4_K", matrixTypes);
        Assert.Contains("Q6_K", matrixTypes);
        // 576-element rows are not whole 256-element super-blocks: llama.cpp's fallbacks, one reported line each.
        int matrices = file.Tensors.Count(t => t.Rank == 2);
        int q5 = file.Tensors.Count(t => t.Type == SharpInfer.Tensors.GgmlType.Q5_0);
        int q8 = file.Tensors.Count(t => t.Type == SharpInfer.Tensors.GgmlType.Q8_0);
        Assert.True(q5 > 0 && q8 > 0);
        Assert.Contains($"warning: {q5} of {matrices} matrices stored as Q5_0 instead of Q4_K: rows of 576 elements are not whole 256-element Q4_K blocks (llama.cpp's fallback)", _model.Result.Err);
        Assert.Contains($"warning: {q8} of {matrices} matrices stored as Q8_0 instead of Q6_K: rows of 576 elements", _model.Result.Err);
        // The tokenizer comes from the vocab file.
        using var vocab = GgufFile.Open(SharedData.File("vocab/ggml-vocab-llama-spm.gguf"));
        Assert.Equal(vocab.Metadata.TryGetArray("tokenizer.ggml.tokens")!.Count, file.Metadata.TryGetArray("tokenizer.ggml.tokens")!.Count);
    }

    /// <summary>A seed gives the same file in every process (tensor seeds come from a stable hash of the tensor name).</summary>
    [Fact]
    public async Task SynthWritesTheSameBytesInAnotherProcess()
    {
        string other = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"sharpinfer-synth-{Guid.NewGuid():N}.gguf");
        try
        {
            var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string arg in new[] { System.IO.Path.Combine(AppContext.BaseDirectory, "SharpInfer.Cli.dll"), "synth", "--shape", "smollm-135m",
                "--type", "Q4_K_M", "-o", other, "--vocab-from", SharedData.File("vocab/ggml-vocab-llama-spm.gguf") })
            {
                start.ArgumentList.Add(arg);
            }
            using var process = System.Diagnostics.Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, await stderr);
            Assert.Equal(Hash(_model.Path), Hash(other));
        }
        finally
        {
            File.Delete(other);
        }
    }

    private static string Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream));
    }

    [Fact]
    public void BenchPrintsLlamaBenchRowsAndPhases()
    {
        var r = CliRunner.Run("bench", "-m", _model.Path, "-p", "8", "-n", "4", "-r", "1", "-t", "2", "--phases");
        Assert.True(r.ExitCode == 0, r.Err);
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains("| pp8 |") && l.Contains("Q4_K_M"));
        Assert.Contains(lines, l => l.Contains("| tg4 |"));
        var phaseRows = lines.Where(l => l.EndsWith(" % |", StringComparison.Ordinal)).ToList();
        Assert.Equal(11, phaseRows.Count);
        double share = phaseRows.Sum(l => double.Parse(l.Split('|')[3].Trim().TrimEnd('%').Trim(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.InRange(share, 99, 101);
        Assert.Contains(phaseRows, l => l.StartsWith("| attention |", StringComparison.Ordinal));
    }

    [Fact]
    public void BenchJsonHasTheRecordFieldsForParallelAndDepthTests()
    {
        var r = CliRunner.Run("bench", "-m", _model.Path, "-p", "0", "-n", "3", "-r", "1", "--parallel", "2", "--depth", "16", "-o", "json");
        Assert.True(r.ExitCode == 0, r.Err);
        using var json = JsonDocument.Parse(r.Out);
        var record = Assert.Single(json.RootElement.EnumerateArray());
        Assert.Equal("tg3 x2 @ d16", record.GetProperty("test").GetString());
        Assert.Equal("Q4_K_M", record.GetProperty("type").GetString());
        Assert.Equal(new FileInfo(_model.Path).Length, record.GetProperty("size_bytes").GetInt64(), 1_000_000.0);
        Assert.True(record.GetProperty("params").GetInt64() > 100_000_000);
        Assert.True(record.GetProperty("avg_ts").GetDouble() > 0);
        Assert.True(record.GetProperty("gbps").GetDouble() > 0);
        Assert.True(record.TryGetProperty("stddev_ts", out _));
        Assert.True(record.TryGetProperty("threads", out _));
        Assert.True(record.TryGetProperty("model", out _));
    }

    [Theory]
    [InlineData("--output", "xml", "--output")]
    [InlineData("--parallel", "0", "--parallel")]
    [InlineData("-r", "0", "-r")]
    public void BenchRefusesBadOptionsInOneLine(string option, string value, string named)
    {
        var r = CliRunner.Run("bench", "-m", _model.Path, "-p", "0", "-n", "1", option, value);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(named, r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
    }

    [Fact]
    public void SynthRefusesAnUnknownShapeInOneLine()
    {
        string output = Path.Combine(Path.GetTempPath(), $"sharpinfer-synth-{Guid.NewGuid():N}.gguf");
        var r = CliRunner.Run("synth", "--shape", "gpt-17", "--type", "Q4_0", "-o", output);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("gpt-17", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
        Assert.False(File.Exists(output));
    }
}
