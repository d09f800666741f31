using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Sampling;
using SharpInfer.Templates;

namespace SharpInfer.Tests.Ecosystem;

/// <summary>
/// <see cref="SharpInferChatClient"/>, <see cref="SharpInferEmbeddingGenerator"/> and <c>AddSharpInfer</c> on the real
/// stories260K model: replies are checked against the plain generation loop run on the same rendered prompt, and
/// the middleware people compose (<c>ChatClientBuilder</c>) and dependency injection against the client itself.
/// </summary>
public class ChatClientTests
{
    private static readonly InferenceHostOptions Options = new() { ContextSize = 1024, Threads = 1, Parallel = 4, CacheTypeK = SharpInfer.Tensors.GgmlType.F32, CacheTypeV = SharpInfer.Tensors.GgmlType.F32 };

    private static readonly ChatOptions Greedy = new() { Temperature = 0, MaxOutputTokens = 30 };

    /// <summary>What the plain generation loop writes for the ChatML rendering of one user message (stories260K has no template).</summary>
    private static (string Text, int PromptTokens, int Generated, StopReason Reason) Reference(Model model, string user, int maxTokens)
    {
        string prompt = ChatTemplate.Parse(ChatTemplates.ChatMl).Render(new ChatTemplateInput
        {
            Messages = [new System.Text.Json.Nodes.JsonObject { ["role"] = "user", ["content"] = user }],
            AddGenerationPrompt = true,
        });
        using var context = model.CreateContext(new ContextOptions { ContextSize = 1024, Threads = 1, TypeK = SharpInfer.Tensors.GgmlType.F32, TypeV = SharpInfer.Tensors.GgmlType.F32 });
        var r = new Generator(context).Generate(prompt, new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy });
        return (r.Text, r.PromptTokens.Length, r.GeneratedTokens.Length, r.StopReason);
    }

    [Fact]
    public async Task ReplyIsTheGreedyContinuationOfTheRenderedConversation()
    {
        using var model = Model.Load(SharedData.Stories);
        var expected = Reference(model, "Tell me a story", 30);
        using var client = new SharpInferChatClient(model, Options);
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Tell me a story")], Greedy);
        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
        Assert.Equal(expected.PromptTokens, response.Usage!.InputTokenCount);
        Assert.Equal(expected.Generated, response.Usage.OutputTokenCount);
        Assert.Equal(expected.PromptTokens + expected.Generated, response.Usage.TotalTokenCount);
        Assert.Equal(expected.Reason == StopReason.TokenLimit ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal("stories260K.gguf", response.ModelId);

        // The same conversation again: the prefix cache serves the prompt.
        var again = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Tell me a story")], Greedy);
        Assert.Equal(expected.Text, again.Text);
        Assert.True(again.Usage!.CachedInputTokenCount > 0);
    }

    [Fact]
    public async Task StreamingGivesTheSameTextWithUsageAndFinishReasonLast()
    {
        using var client = new SharpInferChatClient(SharedData.Stories, Options);
        var whole = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Once upon a time")], Greedy);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Once upon a time")], Greedy)) updates.Add(u);
        Assert.True(updates.Count > 3);
        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(whole.FinishReason, updates[^1].FinishReason);
        var usage = updates.SelectMany(u => u.Contents).OfType<UsageContent>().Single();
        Assert.Equal(whole.Usage!.OutputTokenCount, usage.Details.OutputTokenCount);
        Assert.Single(updates.Select(u => u.ResponseId).Distinct());
        var combined = updates.ToChatResponse();
        Assert.Equal(whole.Text, combined.Text);
    }

    [Fact]
    public async Task OptionsReachTheSampler()
    {
        using var model = Model.Load(SharedData.Stories);
        using var client = new SharpInferChatClient(model, Options);
        ChatMessage[] messages = [new ChatMessage(ChatRole.User, "Once upon a time")];
        var greedy = await client.GetResponseAsync(messages, Greedy);
        // A stop sequence cuts the reply before the text it names.
        string word = greedy.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3];
        var stopped = await client.GetResponseAsync(messages, new ChatOptions { Temperature = 0, MaxOutputTokens = 30, StopSequences = [word] });
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.Equal(greedy.Text[..greedy.Text.IndexOf(word, StringComparison.Ordinal)], stopped.Text);
        var limited = await client.GetResponseAsync(messages, new ChatOptions { Temperature = 0, MaxOutputTokens = 3 });
        Assert.Equal(3, limited.Usage!.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Length, limited.FinishReason);
        // A seed makes sampling repeatable; the chat options map one to one onto the sampler's settings.
        var sampled = new ChatOptions { Temperature = 1.2f, TopP = 0.9f, TopK = 20, Seed = 7, MaxOutputTokens = 20, FrequencyPenalty = 0.5f, PresencePenalty = 0.25f };
        Assert.Equal((await client.GetResponseAsync(messages, sampled)).Text, (await client.GetResponseAsync(messages, sampled)).Text);
        var settings = SharpInferChatClient.Sampling(sampled);
        Assert.Equal(new SamplingOptions { Temperature = 1.2f, TopP = 0.9f, TopK = 20, Seed = 7, FrequencyPenalty = 0.5f, PresencePenalty = 0.25f }, settings);
        Assert.Equal(new SamplingOptions(), SharpInferChatClient.Sampling(null));
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(messages, new ChatOptions { ResponseFormat = ChatResponseFormat.Json }));
        var text = await client.GetResponseAsync(messages, new ChatOptions { Temperature = 0, MaxOutputTokens = 1, ResponseFormat = ChatResponseFormat.Text });
        Assert.Equal(1, text.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task ConcurrentCallersShareOneSchedulerAndEachGetTheirOwnReply()
    {
        using var model = Model.Load(SharedData.Stories);
        string[] prompts = ["Once upon a time", "The little dog", "Tim had a red ball", "A cat sat on the mat", "The sun was shining", "One day, a big bird"];
        var expected = prompts.Select(p => Reference(model, p, 24).Text).ToArray();
        using var client = new SharpInferChatClient(model, Options);
        var replies = await Task.WhenAll(prompts.Select(p => Task.Run(() => client.GetResponseAsync([new ChatMessage(ChatRole.User, p)], new ChatOptions { Temperature = 0, MaxOutputTokens = 24 }))));
        Assert.Equal(expected, replies.Select(r => r.Text).ToArray());
        Assert.Equal(prompts.Length, client.Host.Scheduler.Metrics.RequestsTotal);
    }

    [Fact]
    public async Task MiddlewareFromMicrosoftExtensionsAiStreamsThroughTheClient()
    {
        using var client = new SharpInferChatClient(SharedData.Stories, Options);
        var expected = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "Once upon a time")], Greedy);
        var weather = AIFunctionFactory.Create((string city) => $"sunny in {city}", "get_weather", "The weather in a city");
        using var composed = new ChatClientBuilder(client).UseFunctionInvocation().Build();
        var text = new System.Text.StringBuilder();
        await foreach (var u in composed.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "Once upon a time")], new ChatOptions { Temperature = 0, MaxOutputTokens = 30, Tools = [weather] }))
        {
            text.Append(u.Text);
        }
        // ChatML ignores tools, so the prompt (and the greedy reply) is what it was without them.
        Assert.Equal(expected.Text, text.ToString());
        Assert.Same(client, composed.GetService<SharpInferChatClient>());
        Assert.Equal("stories260K.gguf", composed.GetService<ChatClientMetadata>()!.DefaultModelId);
    }

    [Fact]
    public void ConversationsBecomeTemplateMessages()
    {
        var call = new FunctionCallContent("call-1", "get_weather", new Dictionary<string, object?> { ["city"] = "Paris" });
        var json = ChatMessageJson.Messages(
        [
            new ChatMessage(ChatRole.User, "Weather?"),
            new ChatMessage(ChatRole.Assistant, [call]),
            new ChatMessage(ChatRole.Tool, [new FunctionResultContent("call-1", "sunny")]),
        ], "Be brief.");
        Assert.Equal(
            """[{"role":"system","content":"Be brief."},{"role":"user","content":"Weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call-1","type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},{"role":"tool","tool_call_id":"call-1","content":"sunny"}]""",
            json.ToJsonString());
        Assert.Throws<NotSupportedException>(() => ChatMessageJson.Messages([new ChatMessage(ChatRole.User, [new DataContent(new byte[] { 1 }, "image/png")])], null));
        var tools = ChatMessageJson.Tools([AIFunctionFactory.Create((int a) => a, "echo", "Echoes")]);
        Assert.Equal("echo", tools![0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("object", tools[0]!["function"]!["parameters"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task EmbeddingGeneratorGivesUnitVectorsThatTellTextsApart()
    {
        using var generator = new SharpInferEmbeddingGenerator(SharedData.Stories, Options);
        var result = await generator.GenerateAsync(["The dog ran in the park", "The dog ran in the park", "Lily ate a big red apple"]);
        Assert.Equal(3, result.Count);
        Assert.All(result, e => Assert.Equal(generator.Dimensions, e.Vector.Length));
        Assert.All(result, e => Assert.Equal(1.0, Math.Sqrt(e.Vector.ToArray().Sum(v => (double)v * v)), 1e-5));
        Assert.Equal(result[0].Vector.ToArray(), result[1].Vector.ToArray());
        Assert.NotEqual(result[0].Vector.ToArray(), result[2].Vector.ToArray());
        Assert.True(result.Usage!.InputTokenCount > 10);
        await Assert.ThrowsAsync<NotSupportedException>(() => generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 3 }));
        Assert.Equal(generator.Dimensions, generator.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions);
    }

    [Fact]
    public async Task AddSharpInferRegistersOneHostForChatAndEmbeddings()
    {
        var services = new ServiceCollection();
        services.AddSharpInfer(o =>
        {
            o.ModelPath = SharedData.Stories;
            o.ContextSize = 512;
            o.Threads = 1;
            o.Parallel = 2;
            o.ModelId = "stories";
        });
        await using (var provider = services.BuildServiceProvider())
        {
            var chat = provider.GetRequiredService<IChatClient>();
            var embeddings = provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>();
            var host = provider.GetRequiredService<InferenceHost>();
            Assert.Same(host, chat.GetService<InferenceHost>());
            Assert.Same(host, embeddings.GetService<InferenceHost>());
            var reply = await chat.GetResponseAsync("Once upon a time", new ChatOptions { Temperature = 0, MaxOutputTokens = 5 });
            Assert.Equal("stories", reply.ModelId);
            Assert.Single(await embeddings.GenerateAsync(["hello"]));
        }
        Assert.Throws<ArgumentException>(() => new ServiceCollection().AddSharpInfer(o => o.ContextSize = 5));
    }
}
