using System.Text.Json.Nodes;
using SharpInfer.Models;
using SharpInfer.Tests;

namespace SharpInfer.Server.Tests;

/// <summary><c>serve --swa-full</c> and <c>serve --mla</c> reach the server's context (they were once accepted and ignored).</summary>
public class ServerCacheOptionsTests
{
    private static string Arch(string name) => SharedData.File($"models/synthetic-arch/{name}.gguf");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SwaFullKeepsWindowCachesAtFullSize(bool swaFull)
    {
        await using var server = await TestServer.StartAsync(o => o with { ModelPath = Arch("synth-gemma3-F32"), ContextSize = 256, MicroBatchSize = 32, SwaFull = swaFull });
        var kv = server.Loaded.Context.Kv;
        Assert.Equal(swaFull, server.Loaded.Context.Options.SwaFull);
        var window = Assert.Single(kv.Groups, g => g.Options.SlidingWindow > 0);
        // gemma3's synth window is 16 cells: recycled, its cache holds a window per sequence id (4 running, 3 the
        // scheduler's own) plus one micro-batch; full, all 256.
        Assert.Equal(swaFull ? 256 : 16 * SharpInfer.Inference.GenerationScheduler.RequiredSequences(4) + 32, window.Capacity);
        var (status, body) = await server.PostJsonAsync("/v1/completions", new JsonObject { ["prompt"] = "Once upon a time", ["max_tokens"] = 4, ["temperature"] = 0 });
        Assert.Equal(200, status);
        Assert.Equal(4, (int)body!["usage"]!["completion_tokens"]!);
    }

    [Theory]
    [InlineData(MlaMode.Absorb)]
    [InlineData(MlaMode.Naive)]
    public async Task MlaModeReachesTheContext(MlaMode mode)
    {
        await using var server = await TestServer.StartAsync(o => o with { ModelPath = Arch("synth-deepseek2-F32"), ContextSize = 128, Mla = mode });
        Assert.Equal(mode, server.Loaded.Context.Options.Mla);
        // Absorbed, the cache holds latent rows and no values; decompressed, per-head keys and values.
        Assert.Equal(mode == MlaMode.Absorb, server.Loaded.Context.Kv.VBytes == 0);
        var (status, body) = await server.PostJsonAsync("/v1/completions", new JsonObject { ["prompt"] = "Hello", ["max_tokens"] = 3, ["temperature"] = 0 });
        Assert.Equal(200, status);
        Assert.Equal(3, (int)body!["usage"]!["completion_tokens"]!);
    }
}
