using System.Text.Json;
using SharpInfer.Gguf;

namespace SharpInfer.Tests.Cli;

/// <summary>The command line on DeepSeek-V2/V3 (<c>deepseek2</c>) files: <c>--mla</c>, the latent cache sizes, experts in <c>run --json</c> and <c>bench</c>.</summary>
public sealed class DeepSeekCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-deepseek-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static string Synth(string name) => SharedData.File($"models/synthetic-arch/synth-{name}.gguf");

    /// <summary>
    /// DeepSeek-V3's shape (61 layers, kv_lora 512, rope 64, 128 heads of 192/128), from metadata alone: an f16
    /// latent cache is (512 + 64) × 2 × 61 = 70,272 bytes per token, a decompressed one 4,997,120.
    /// </summary>
    [Fact]
    public void KvSizeGivesDeepSeekV3sLatentAndDecompressedCachesFromMetadata()
    {
        string path = Path.Combine(_dir, "deepseek-v3-metadata.gguf");
        WriteV3Metadata(path);
        var absorbed = Json(CliRunner.Run("kv-size", "-m", path, "-c", "1000", "--json"));
        Assert.Equal(70_272L * 1000, absorbed.GetProperty("k_bytes").GetInt64());
        Assert.Equal(0, absorbed.GetProperty("v_bytes").GetInt64());
        Assert.Equal("absorb", absorbed.GetProperty("mla").GetString());
        var naive = Json(CliRunner.Run("kv-size", "-m", path, "-c", "1000", "--mla", "naive", "--json"));
        Assert.Equal(4_997_120L * 1000, naive.GetProperty("total_bytes").GetInt64());
        var text = CliRunner.Run("kv-size", "-m", path, "-c", "1000");
        Assert.Contains("V (f16): 0.00 MiB", text.Out);
        Assert.Contains("latent (--mla absorb) 70272 bytes per token; decompressed (--mla naive) would take 4997120 (71.1×)", text.Out);
    }

    [Fact]
    public void RunReportsTheLatentCacheAndTheExpertsItTouched()
    {
        var text = CliRunner.Run("run", "-m", Synth("deepseek2-Q8_0"), "-p", "Once upon a time", "-n", "4");
        Assert.True(text.ExitCode == 0, text.Err);
        Assert.Contains("V (f16): 0.00 MiB", text.Err);
        var r = CliRunner.Run("run", "-m", Synth("deepseek2-Q8_0"), "-p", "Once upon a time", "-n", "6", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        var experts = Json(r).GetProperty("experts");
        var layers = experts.GetProperty("layers").EnumerateArray().ToArray();
        // One dense block, then two mixtures of 8 experts with 2 per token: 11 tokens touch between 2 and 8 each.
        Assert.Equal([1, 2], layers.Select(l => l.GetProperty("layer").GetInt32()));
        foreach (var l in layers)
        {
            Assert.Equal(8, l.GetProperty("of").GetInt32());
            Assert.InRange(l.GetProperty("distinct").GetInt32(), 2, 8);
        }
        Assert.True(experts.GetProperty("routed_bytes_read").GetInt64() > 0);
        var naive = CliRunner.Run("run", "-m", Synth("deepseek2-mla-Q8_0"), "-p", "Once upon a time", "-n", "4", "--mla", "naive");
        Assert.True(naive.ExitCode == 0, naive.Err);
        Assert.DoesNotContain("V (f16): 0.00 MiB", naive.Err);
        Assert.Null(Json(CliRunner.Run("run", "-m", SharedData.Stories, "-p", "Once", "-n", "2", "--json")).GetPropertyOrNull("experts"));
    }

    /// <summary>Context shift on MLA caches (llama.cpp refuses to shift deepseek2): generation runs far past the context in either mode.</summary>
    [Theory]
    [InlineData("absorb")]
    [InlineData("naive")]
    public void ContextShiftWorksOnLatentAndDecompressedCaches(string mla)
    {
        var r = Json(CliRunner.Run("run", "-m", Synth("deepseek2-mla-Q8_0"), "-p", "Once upon a time", "-n", "80", "-c", "32", "--context-shift", "--mla", mla, "--json"));
        Assert.Equal(80, r.GetProperty("generated_tokens").GetArrayLength());
        Assert.True(r.GetProperty("context_shifts").GetInt32() >= 3);
    }

    [Fact]
    public void BenchShowsRouterExpertsAndSharedExpertsAsPhases()
    {
        var r = CliRunner.Run("bench", "-m", Synth("deepseek2-lite-Q8_0"), "-p", "8", "-n", "4", "-r", "1", "--phases");
        Assert.True(r.ExitCode == 0, r.Err);
        foreach (string phase in new[] { "| router |", "| experts |", "| shared experts |", "| attention |" }) Assert.Contains(phase, r.Out);
        var json = CliRunner.Run("bench", "-m", Synth("deepseek2-lite-Q8_0"), "-p", "0", "-n", "4", "-r", "1", "--mla", "naive", "-o", "json");
        Assert.True(json.ExitCode == 0, json.Err);
        using var doc = JsonDocument.Parse(json.Out);
        Assert.True(doc.RootElement[0].GetProperty("gbps").GetDouble() > 0);
    }

    [Fact]
    public void KvQualityOffersTheTypesTheLatentRowsFit()
    {
        // The synthetic file's latent rows are 64 + 16 = 80 wide: no 32-element block type fits them.
        var r = CliRunner.Run("kv-quality", "-m", Synth("deepseek2-F32"), "-p", "Once upon a time there was", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.Equal(["f32", "f16", "bf16"], doc.RootElement.EnumerateArray().Select(e => e.GetProperty("type").GetString()));
        Assert.Equal(3 * 80 * 2, doc.RootElement[1].GetProperty("bytes_per_token").GetInt64());
    }

    [Theory]
    [InlineData("run", "-p", "hi")]
    [InlineData("kv-size")]
    [InlineData("bench", "-n", "1")]
    public void AnUnknownMlaModeIsOneLineError(params string[] args)
    {
        var r = CliRunner.Run([.. args, "-m", Synth("deepseek2-F32"), "--mla", "fast"]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Equal("error: --mla: unknown mode 'fast' (supported: absorb, naive)", r.Err.Trim());
    }

    [Fact]
    public void AQuantizedCacheThatDoesNotFitTheLatentRowIsRefused()
    {
        var r = CliRunner.Run("run", "-m", Synth("deepseek2-F32"), "-p", "hi", "-n", "1", "-ctk", "q8_0");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("needs the key head dimension to be a multiple of 32, but layer 0 has 80", r.Err);
    }

    private static JsonElement Json(CliRunner.Result r)
    {
        Assert.True(r.ExitCode == 0, r.Err);
        return JsonDocument.Parse(r.Out).RootElement;
    }

    /// <summary>A GGUF with DeepSeek-V3's hyper-parameters (split MLA layout) and no tensors: enough for kv-size.</summary>
    private static void WriteV3Metadata(string path)
    {
        var w = new GgufWriter(3);
        var m = w.Metadata;
        m.Set("general.architecture", GgufValue.FromString("deepseek2"));
        void U(string key, uint value) => m.Set("deepseek2." + key, GgufValue.FromUInt32(value));
        void F(string key, float value) => m.Set("deepseek2." + key, GgufValue.FromFloat32(value));
        U("vocab_size", 129280);
        U("context_length", 163840);
        U("embedding_length", 7168);
        U("block_count", 61);
        U("feed_forward_length", 18432);
        U("attention.head_count", 128);
        U("attention.head_count_kv", 1);
        U("attention.key_length", 576);
        U("attention.value_length", 512);
        U("attention.key_length_mla", 192);
        U("attention.value_length_mla", 128);
        U("attention.q_lora_rank", 1536);
        U("attention.kv_lora_rank", 512);
        U("rope.dimension_count", 64);
        F("attention.layer_norm_rms_epsilon", 1e-6f);
        m.Set("deepseek2.rope.scaling.type", GgufValue.FromString("yarn"));
        F("rope.scaling.factor", 40);
        U("rope.scaling.original_context_length", 4096);
        F("rope.scaling.yarn_log_multiplier", 0.1f);
        U("leading_dense_block_count", 3);
        U("expert_count", 256);
        U("expert_used_count", 8);
        U("expert_shared_count", 1);
        U("expert_feed_forward_length", 2048);
        F("expert_weights_scale", 2.5f);
        m.Set("deepseek2.expert_weights_norm", GgufValue.FromBool(true));
        U("expert_gating_func", 2);
        U("expert_group_count", 8);
        U("expert_group_used_count", 4);
        w.Save(path);
    }
}

internal static class JsonElementExtensions
{
    public static JsonElement? GetPropertyOrNull(this JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v : null;
}
