using System.ClientModel;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI.Chat;
using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Sampling;
using SharpInfer.Tests;

namespace SharpInfer.Server.Tests;

/// <summary>The official OpenAI .NET SDK as the client: chat, streaming chat, completions, models and errors.</summary>
public class OpenAiSdkTests
{
    /// <summary>What the plain generation loop makes of a prompt, greedily (the server must say the same).</summary>
    internal static string Lone(string prompt, int maxTokens)
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 512, Threads = 1, TypeK = SharpInfer.Tensors.GgmlType.F32, TypeV = SharpInfer.Tensors.GgmlType.F32 });
        return new Generator(context).Generate(prompt, new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy }).Text;
    }

    /// <summary>The prompt a user message becomes through the server's template (the ChatML fallback: stories260K has none).</summary>
    internal static string ChatMlPrompt(string user) => SharpInfer.Templates.ChatTemplate.Parse(SharpInfer.Templates.ChatTemplates.ChatMl).Render(new SharpInfer.Templates.ChatTemplateInput
    {
        Messages = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = user }),
        AddGenerationPrompt = true,
        BosToken = "<s>",
        EosToken = "</s>",
    });

    [Fact]
    public async Task ChatCompletionMatchesTheGenerationLoop()
    {
        await using var server = await TestServer.StartAsync();
        var chat = server.OpenAI().GetChatClient("stories");
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 24 };
        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Once upon a time")], options);
        Assert.Equal(Lone(ChatMlPrompt("Once upon a time"), 24), completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(24, completion.Usage.OutputTokenCount);
        var promptTokens = server.Loaded.Model.Tokenizer.Tokenize(ChatMlPrompt("Once upon a time"), true, true).Length;
        Assert.Equal(promptTokens, completion.Usage.InputTokenCount);
        Assert.Equal("stories260K.gguf", completion.Model);

        // The same conversation again: everything but the last prompt token comes from the prefix cache.
        ChatCompletion again = await chat.CompleteChatAsync([new UserChatMessage("Once upon a time")], options);
        Assert.Equal(completion.Content[0].Text, again.Content[0].Text);
        Assert.Equal(promptTokens - 1, again.Usage.InputTokenDetails.CachedTokenCount);
    }

    [Fact]
    public async Task StreamingChatDeliversTheSameTextInPiecesWithUsage()
    {
        await using var server = await TestServer.StartAsync();
        var chat = server.OpenAI().GetChatClient("stories");
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 30, StopSequences = { "Lily" } };
        var text = new StringBuilder();
        int updates = 0;
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Once upon a time")], options))
        {
            updates++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }
        string full = Lone(ChatMlPrompt("Once upon a time"), 30);
        string expected = full.Contains("Lily", StringComparison.Ordinal) ? full[..full.IndexOf("Lily", StringComparison.Ordinal)] : full;
        Assert.Equal(expected, text.ToString());
        Assert.Equal(full.Contains("Lily", StringComparison.Ordinal) ? ChatFinishReason.Stop : ChatFinishReason.Length, finish);
        Assert.True(updates > 5, $"{updates} updates: the reply was not streamed");
        Assert.NotNull(usage);
        Assert.True(usage!.OutputTokenCount > 0);
    }

    [Fact]
    public async Task LegacyCompletionsTakeTextAndTokenPrompts()
    {
        await using var server = await TestServer.StartAsync();
        // OpenAI 2.15 keeps its completions client internal; its public client pipeline (authentication, retries,
        // error mapping) sends the request instead.
        var pipeline = server.OpenAI().Pipeline;
        var tokens = server.Loaded.Model.Tokenizer.Tokenize("Once upon a time", true, true);
        foreach (JsonNode prompt in new JsonNode[] { "Once upon a time", new JsonArray(tokens.Select(t => (JsonNode)t).ToArray()) })
        {
            var body = new JsonObject { ["model"] = "stories", ["prompt"] = prompt, ["max_tokens"] = 20, ["temperature"] = 0, ["logprobs"] = 2 };
            using var message = pipeline.CreateMessage();
            message.Request.Method = "POST";
            message.Request.Uri = new Uri(server.Address, "v1/completions");
            message.Request.Headers.Set("Content-Type", "application/json");
            message.Request.Content = BinaryContent.Create(BinaryData.FromString(body.ToJsonString()));
            await pipeline.SendAsync(message);
            Assert.Equal(200, message.Response!.Status);
            var reply = JsonNode.Parse(message.Response.Content.ToString())!;
            Assert.Equal("text_completion", (string?)reply["object"]);
            Assert.Equal(Lone("Once upon a time", 20), (string?)reply["choices"]![0]!["text"]);
            Assert.Equal("length", (string?)reply["choices"]![0]!["finish_reason"]);
            Assert.Equal(tokens.Length, (int)reply["usage"]!["prompt_tokens"]!);
            var logprobs = reply["choices"]![0]!["logprobs"]!;
            Assert.Equal(20, logprobs["tokens"]!.AsArray().Count);
            Assert.Equal(2, logprobs["top_logprobs"]![0]!.AsObject().Count);
            Assert.All(logprobs["token_logprobs"]!.AsArray(), lp => Assert.True((double)lp! <= 0));
        }
    }

    [Fact]
    public async Task ModelsListTheServedModel()
    {
        await using var server = await TestServer.StartAsync(o => o with { ModelAlias = "tiny-stories" });
        var models = await server.OpenAI().GetOpenAIModelClient().GetModelsAsync();
        var model = Assert.Single(models.Value);
        Assert.Equal("tiny-stories", model.Id);
        Assert.Equal("sharpinfer", model.OwnedBy);
    }

    [Fact]
    public async Task ErrorsReachTheSdkWithStatusAndMessage()
    {
        await using var server = await TestServer.StartAsync(o => o with { ApiKey = "sesame", ContextSize = 64 });
        var wrongKey = server.OpenAI("open-sesame").GetChatClient("stories");
        var unauthorized = await Assert.ThrowsAsync<ClientResultException>(() => wrongKey.CompleteChatAsync([new UserChatMessage("hello")]));
        Assert.Equal(401, unauthorized.Status);
        Assert.Contains("API key", unauthorized.Message);

        var chat = server.OpenAI("sesame").GetChatClient("stories");
        var badTemperature = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hello")], new ChatCompletionOptions { Temperature = 3 }));
        Assert.Equal(400, badTemperature.Status);
        Assert.Contains("temperature", badTemperature.Message);

        var tooLong = await Assert.ThrowsAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage(string.Join(" ", Enumerable.Repeat("story", 100)))]));
        Assert.Equal(400, tooLong.Status);
        Assert.Contains("context", tooLong.Message);

        ChatCompletion ok = await chat.CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 3 });
        Assert.Equal(ChatFinishReason.Length, ok.FinishReason);
    }
}
