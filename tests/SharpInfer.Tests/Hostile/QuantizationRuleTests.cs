using SharpInfer.Gguf;
using SharpInfer.Models;
using SharpInfer.Tensors;
using SharpInfer.Tests.Cli;

namespace SharpInfer.Tests.Hostile;

/// <summary>
/// <c>quantize</c> and <c>synth</c> follow one rule for rows that are not whole blocks (llama.cpp's fallbacks, one
/// reported line per fallback type); <c>quantize</c> takes the K-quant mixes and dequantizes to F32/F16 without
/// asking for re-quantization.
/// </summary>
public sealed class QuantizationRuleTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-qrule-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Out(string name) => Path.Combine(_dir, name);

    /// <summary>
    /// stories260K's rows are 64 and 172 elements: no K-quant block fits. Every matrix quantize writes has the type the
    /// shared recipe (what synth uses) chooses, and the warnings count exactly the fallbacks in the file.
    /// </summary>
    [Theory]
    [InlineData("Q4_K")]
    [InlineData("Q4_K_M")]
    [InlineData("Q2_K")]
    [InlineData("Q6_K")]
    public void QuantizeTakesTheSameFallbacksAsSynthAndReportsThem(string recipe)
    {
        var r = CliRunner.Run("quantize", SharedData.Stories, Out("q.gguf"), recipe);
        Assert.True(r.ExitCode == 0, r.Err);
        var mix = QuantizationMix.Parse(recipe);
        using var source = GgufFile.Open(SharedData.Stories);
        using var written = GgufFile.Open(Out("q.gguf"));
        int layers = (int)source.Metadata.GetUInt32("llama.block_count");
        var matrices = source.Tensors.Where(t => t.Rank == 2).ToList();
        var counts = new Dictionary<(GgmlType Wanted, GgmlType Used), int>();
        foreach (var t in matrices)
        {
            var type = written.GetTensor(t.Name).Type;
            Assert.Equal(mix.Choose(t, layers), type);
            var wanted = mix.Pick(t, layers);
            if (wanted != type) counts[(wanted, type)] = counts.GetValueOrDefault((wanted, type)) + 1;
        }
        Assert.NotEmpty(counts);
        // Only the warnings: on a slow machine progress lines come too.
        var lines = r.Err.Split('\n').Where(l => l.StartsWith("warning: ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(counts.Count, lines.Length);
        foreach (var ((wanted, used), n) in counts)
        {
            Assert.Contains(lines, l => l.StartsWith($"warning: {n} of {matrices.Count} matrices stored as {used} instead of {wanted}: rows of ", StringComparison.Ordinal)
                && l.EndsWith("(llama.cpp's fallback)", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void ATypeWithoutAFallbackIsRefusedLikeLlamaCpp()
    {
        var r = CliRunner.Run("quantize", SharedData.Stories, Out("q.gguf"), "Q8_0");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("has no fallback type (llama.cpp refuses such a tensor too)", r.Err);
        Assert.False(File.Exists(Out("q.gguf")));
    }

    [Theory]
    [InlineData("Q3_K_M", 12u)]
    [InlineData("Q4_K_M", 15u)]
    [InlineData("Q5_K_M", 17u)]
    public void QuantizeAcceptsTheMixesSynthHas(string mix, uint fileType)
    {
        var r = CliRunner.Run("quantize", SharedData.Synth("F32"), Out("m.gguf"), mix);
        Assert.True(r.ExitCode == 0, r.Err);
        using var f = GgufFile.Open(Out("m.gguf"));
        Assert.Equal(fileType, f.Metadata.GetUInt32("general.file_type"));
        Assert.Equal(GgmlType.Q6_K, f.GetTensor("output.weight").Type);
        Assert.Contains($"to {mix}", r.Out);
    }

    /// <summary>Dequantizing needs no --allow-requantize: F32 holds the dequantized values exactly, F16 rounds each once.</summary>
    [Theory]
    [InlineData("F32")]
    [InlineData("F16")]
    public void AQuantizedModelDequantizesToFloat(string target)
    {
        var r = CliRunner.Run("quantize", SharedData.Synth("Q8_0"), Out("f.gguf"), target);
        Assert.True(r.ExitCode == 0, r.Err);
        using var source = GgufFile.Open(SharedData.Synth("Q8_0"));
        using var written = GgufFile.Open(Out("f.gguf"));
        foreach (var t in source.Tensors.Where(t => t.Type == GgmlType.Q8_0))
        {
            var expected = new float[t.ElementCount];
            Dequantize.Row(t.Type, source.GetData(t), expected);
            var w = written.GetTensor(t.Name);
            Assert.Equal(target == "F32" ? GgmlType.F32 : GgmlType.F16, w.Type);
            var actual = new float[w.ElementCount];
            Dequantize.Row(w.Type, written.GetData(w), actual);
            if (target == "F32") Assert.Equal(expected, actual);
            else Assert.Equal(expected.Select(v => (float)(Half)v), actual);
        }
        Assert.Equal(1, CliRunner.Run("quantize", SharedData.Synth("Q8_0"), Out("q4.gguf"), "Q4_0").ExitCode);
    }
}

/// <summary>The K-quant mixes follow llama.cpp's per-tensor choices for the families' own tensors.</summary>
public sealed class QuantizationMixChoiceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-qmix-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void ATiedEmbeddingTakesTheOutputsTypeAndAFusedQkvItsOwn()
    {
        // Qwen3 (tied output: no output.weight) and Phi-3 (fused attn_qkv), from F32 to Q4_K_M.
        string qwen = Path.Combine(_dir, "qwen3.gguf"), phi = Path.Combine(_dir, "phi3.gguf");
        Assert.Equal(0, CliRunner.Run("quantize", SharedData.File("models/synthetic-arch/synth-qwen3-F32.gguf"), qwen, "Q4_K_M").ExitCode);
        Assert.Equal(0, CliRunner.Run("quantize", SharedData.File("models/synthetic-arch/synth-phi3-F32.gguf"), phi, "Q4_K_M").ExitCode);
        using (var q = GgufFile.Open(qwen))
        {
            Assert.Null(q.FindTensor("output.weight"));
            Assert.Equal(GgmlType.Q6_K, q.GetTensor("token_embd.weight").Type);
            Assert.Equal(GgmlType.Q4_K, q.GetTensor("blk.1.attn_q.weight").Type);
        }
        using (var p = GgufFile.Open(phi))
        {
            Assert.Equal(GgmlType.Q6_K, p.GetTensor("output.weight").Type);
            Assert.Equal(GgmlType.Q4_K, p.GetTensor("token_embd.weight").Type);
            Assert.Equal(GgmlType.Q5_K, p.GetTensor("blk.1.attn_qkv.weight").Type);
        }
        // Both still run.
        Assert.Equal(0, CliRunner.Run("run", "-m", qwen, "-p", "Once upon a time", "-n", "4").ExitCode);
        Assert.Equal(0, CliRunner.Run("run", "-m", phi, "-p", "Once upon a time", "-n", "4").ExitCode);
    }
}
