using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using SharpInfer.Inference;

namespace SharpInfer.Server.Tests;

/// <summary>
/// <c>POST /v1/embeddings</c> and <c>Microsoft.Extensions.AI.OpenAI</c> against the server: what a client gets over
/// HTTP must be what the in-process <see cref="SharpInferChatClient"/> and <see cref="SharpInferEmbeddingGenerator"/>
/// give on the same model.
/// </summary>
public class EcosystemTests
{
    private static InferenceHostOptions SameAsServer => new() { ContextSize = 2048, Threads = 1, Parallel = 4, CacheTypeK = SharpInfer.Tensors.GgmlType.F32, CacheTypeV = SharpInfer.Tensors.GgmlType.F32 };

    [Fact]
    public async Task OpenAiChatClientOverHttpGetsTheSameTextAsTheInProcessClient()
    {
        await using var server = await TestServer.StartAsync();
        using var local = new SharpInferChatClient(SharpInfer.Tests.SharedData.Stories, SameAsServer);
        using var remote = server.OpenAI().GetChatClient("stories").AsIChatClient();
        ChatMessage[] messages = [new ChatMessage(ChatRole.System, "You tell stories."), new ChatMessage(ChatRole.User, "Once upon a time")];
        var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 32 };
        var expected = await local.GetResponseAsync(messages, options);
        var viaHttp = await remote.GetResponseAsync(messages, options);
        Assert.Equal(expected.Text, viaHttp.Text);
        Assert.Equal(expected.FinishReason, viaHttp.FinishReason);
        Assert.Equal(expected.Usage!.InputTokenCount, viaHttp.Usage!.InputTokenCount);
        Assert.Equal(expected.Usage.OutputTokenCount, viaHttp.Usage.OutputTokenCount);
        var streamed = new System.Text.StringBuilder();
        await foreach (var u in remote.GetStreamingResponseAsync(messages, options)) streamed.Append(u.Text);
        Assert.Equal(expected.Text, streamed.ToString());
    }

    [Fact]
    public async Task EmbeddingsOverHttpAreTheInProcessOnesInBothEncodings()
    {
        await using var server = await TestServer.StartAsync();
        using var local = new SharpInferEmbeddingGenerator(SharpInfer.Tests.SharedData.Stories, SameAsServer);
        string[] texts = ["The dog ran in the park", "Lily ate a big red apple"];
        var expected = await local.GenerateAsync(texts);
        // The OpenAI SDK asks for base64.
        using var remote = server.OpenAI().GetEmbeddingClient("stories").AsIEmbeddingGenerator();
        var viaSdk = await remote.GenerateAsync(texts);
        Assert.Equal(2, viaSdk.Count);
        for (int i = 0; i < texts.Length; i++) Assert.Equal(expected[i].Vector.ToArray(), viaSdk[i].Vector.ToArray());
        Assert.Equal(expected.Usage!.InputTokenCount, viaSdk.Usage!.InputTokenCount);

        var (status, body) = await server.PostJsonAsync("/v1/embeddings", new JsonObject { ["input"] = texts[1], ["encoding_format"] = "float" });
        Assert.Equal(200, status);
        Assert.Equal("list", body!["object"]!.GetValue<string>());
        var floats = body["data"]![0]!["embedding"]!.AsArray().Select(n => n!.GetValue<float>()).ToArray();
        Assert.Equal(expected[1].Vector.ToArray(), floats);
        Assert.Equal("stories260K.gguf", body["model"]!.GetValue<string>());

        // Token ids are embedded as given.
        var tokens = server.Loaded.Host.TokenizeEmbeddingInput(texts[0]);
        (status, body) = await server.PostJsonAsync("/embeddings", new JsonObject { ["input"] = new JsonArray(tokens.Select(t => (JsonNode)t).ToArray()) });
        Assert.Equal(200, status);
        Assert.Equal(expected[0].Vector.ToArray(), body!["data"]![0]!["embedding"]!.AsArray().Select(n => n!.GetValue<float>()).ToArray());
        Assert.Equal(tokens.Length, body["usage"]!["prompt_tokens"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("""{}""", "input")]
    [InlineData("""{"input": ""}""", "input")]
    [InlineData("""{"input": []}""", "input")]
    [InlineData("""{"input": [3, 999999]}""", "input")]
    [InlineData("""{"input": [["a"]]}""", "input[0]")]
    [InlineData("""{"input": "x", "encoding_format": "hex"}""", "encoding_format")]
    [InlineData("""{"input": "x", "dimensions": 3}""", "dimensions")]
    public async Task BadEmbeddingRequestsAre400NamingTheField(string request, string param)
    {
        await using var server = await TestServer.StartAsync();
        using var response = await server.PostAsync("/v1/embeddings", request);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal(param, body["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task InputsLongerThanTheContextAre400()
    {
        await using var server = await TestServer.StartAsync(o => o with { ContextSize = 32 });
        var (status, body) = await server.PostJsonAsync("/v1/embeddings", new JsonObject { ["input"] = string.Join(' ', Enumerable.Repeat("dog", 100)) });
        Assert.Equal(400, status);
        Assert.Equal("context_length_exceeded", body!["error"]!["code"]!.GetValue<string>());
    }
}
