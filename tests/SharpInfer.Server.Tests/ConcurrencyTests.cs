using System.Text;
using System.Text.Json.Nodes;
using OpenAI.Chat;

namespace SharpInfer.Server.Tests;

/// <summary>Many clients at once: batched answers equal lone ones, shared prefixes and choices share cells, disconnects free everything.</summary>
public class ConcurrencyTests
{
    private static readonly string[] Openings =
    [
        "Once upon a time", "The little dog", "Lily and Tom went to the park", "One day, a big bird", "There was a girl named Sue",
        "The sun was shining", "Tim had a red ball", "A cat sat on the mat", "The old man", "Ben liked to run", "In the garden",
        "Mia found a box", "It was a rainy day", "The king", "Sam and his mom", "A little fish",
    ];

    [Fact]
    public async Task SixteenConcurrentStreamingClientsEachGetWhatALoneRequestGets()
    {
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 40 };
        var lone = new string[Openings.Length];
        await using (var reference = await TestServer.StartAsync(o => o with { Parallel = 1, PrefixCache = false }))
        {
            var chat = reference.OpenAI().GetChatClient("stories");
            for (int i = 0; i < Openings.Length; i++) lone[i] = (await chat.CompleteChatAsync([new UserChatMessage(Openings[i])], options)).Value.Content[0].Text;
        }
        // 2 ms per step keeps each request running long enough for all sixteen to overlap.
        await using var server = await TestServer.StartAsync(o => o with { Parallel = 16, StepTokens = 64, StepDelay = TimeSpan.FromMilliseconds(2) });
        var client = server.OpenAI().GetChatClient("stories");
        var replies = await Task.WhenAll(Openings.Select(async opening =>
        {
            var text = new StringBuilder();
            await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage(opening)], options))
            {
                foreach (var part in update.ContentUpdate) text.Append(part.Text);
            }
            return text.ToString();
        }));
        Assert.Equal(lone, replies);
        var m = await server.IdleMetricsAsync();
        Assert.Equal(16, m["sharpinfer_requests_total"]);
        Assert.True(m["sharpinfer_steps_total"] < 16 * 40, $"{m["sharpinfer_steps_total"]} steps for 16 × 40 tokens: the requests were not batched");
    }

    [Fact]
    public async Task ChoicesAndSharedPrefixesShowInTheCellCount()
    {
        await using var server = await TestServer.StartAsync(o => o with { Parallel = 8 });
        string system = "You are a storyteller who tells short happy stories about animals for small children at bedtime.";
        int Cells(JsonNode body) => (int)body["usage"]!["prompt_tokens"]!;

        // n = 4: the prompt is evaluated once and its cells shared by the four continuations.
        var (status, reply) = await server.PostJsonAsync("/v1/chat/completions", new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "system", ["content"] = system }, new JsonObject { ["role"] = "user", ["content"] = "A cat" }),
            ["n"] = 4, ["max_tokens"] = 10, ["temperature"] = 1.2, ["top_k"] = 0, ["top_p"] = 1, ["min_p"] = 0, ["seed"] = 3,
        });
        Assert.Equal(200, status);
        Assert.Equal(4, reply!["choices"]!.AsArray().Count);
        int prompt = Cells(reply);
        var m = await server.IdleMetricsAsync();
        // Each choice adds at most its 9 evaluated tokens; four private prompts would need 3 × prompt more.
        Assert.InRange(m["sharpinfer_kv_cells_used"], prompt + 9, prompt + 4 * 9);

        // A second conversation with the same system prompt takes the tokens the two prompts share from the cache.
        JsonArray Conversation(string user) => new(new JsonObject { ["role"] = "system", ["content"] = system }, new JsonObject { ["role"] = "user", ["content"] = user });
        async Task<int[]> PromptTokens(string user)
        {
            var (_, rendered) = await server.PostJsonAsync("/apply-template", new JsonObject { ["messages"] = Conversation(user) });
            return server.Loaded.Model.Tokenizer.Tokenize((string)rendered!["prompt"]!, true, true);
        }
        int[] cat = await PromptTokens("A cat"), dog = await PromptTokens("A dog");
        int common = cat.AsSpan().CommonPrefixLength(dog);
        var (status2, reply2) = await server.PostJsonAsync("/v1/chat/completions", new JsonObject { ["messages"] = Conversation("A dog"), ["max_tokens"] = 10, ["temperature"] = 0 });
        Assert.Equal(200, status2);
        int cached = (int)reply2!["usage"]!["prompt_tokens_details"]!["cached_tokens"]!;
        Assert.True(common > 50, "the two prompts should share the long system prompt");
        Assert.Equal(common, cached);
        var after = await server.IdleMetricsAsync();
        Assert.Equal(cached, after["sharpinfer_prefix_cache_hit_tokens_total"]);
        Assert.True(after["sharpinfer_kv_cells_used"] - m["sharpinfer_kv_cells_used"] <= Cells(reply2) - cached + 9);
    }

    [Fact]
    public async Task TwoHundredRequestsWithRandomDisconnectsLeaveNothingHeld()
    {
        await using var server = await TestServer.StartAsync(o => o with { Parallel = 8, MaxQueue = 256, ContextSize = 1024 });
        var random = new Random(11);
        var plans = Enumerable.Range(0, 200).Select(i => (Opening: Openings[random.Next(Openings.Length)], Stream: random.Next(4) != 0, StopAfter: random.Next(0, 30), Tokens: 20 + random.Next(60))).ToArray();
        using var gate = new SemaphoreSlim(24);
        var outcomes = await Task.WhenAll(plans.Select(async plan =>
        {
            await gate.WaitAsync();
            try
            {
                return await DisconnectingRequestAsync(server, plan.Opening, plan.Stream, plan.StopAfter, plan.Tokens);
            }
            finally
            {
                gate.Release();
            }
        }));
        Assert.True(outcomes.Count(o => o) > 20, "almost no request was cut off: the test does not exercise disconnects");
        var m = await server.IdleMetricsAsync();
        Assert.Equal(0, m["sharpinfer_requests_running"]);
        Assert.Equal(0, m["sharpinfer_requests_queued"]);
        // Only the prefix cache holds cells (no sequence does), and all of it can be reclaimed.
        Assert.Equal(m["sharpinfer_prefix_cache_cells"], m["sharpinfer_kv_cells_used"]);
        Assert.Equal((int)m["sharpinfer_kv_cells_used"], await server.Loaded.Scheduler.ClearPrefixCacheAsync());
        Assert.Equal(0, (await server.MetricsAsync())["sharpinfer_kv_cells_used"]);

        var chat = server.OpenAI().GetChatClient("stories");
        var options = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = 20 };
        ChatCompletion reply = await chat.CompleteChatAsync([new UserChatMessage(Openings[0])], options);
        Assert.Equal(OpenAiSdkTests.Lone(OpenAiSdkTests.ChatMlPrompt(Openings[0]), 20), reply.Content[0].Text);
    }

    /// <summary>Sends a request and walks away after some chunks (or, without streaming, after a short timeout). True when it was cut off.</summary>
    private static async Task<bool> DisconnectingRequestAsync(TestServer server, string opening, bool stream, int stopAfter, int maxTokens)
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = opening }),
            ["max_tokens"] = maxTokens, ["temperature"] = 0.7, ["stream"] = stream,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        using var cts = new CancellationTokenSource();
        if (!stream) cts.CancelAfter(TimeSpan.FromMilliseconds(stopAfter));
        try
        {
            using var response = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
            Assert.Equal(200, (int)response.StatusCode);
            if (!stream)
            {
                await response.Content.ReadAsStringAsync(cts.Token);
                return false;
            }
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
            int chunks = 0;
            while (await reader.ReadLineAsync(cts.Token) is { } line)
            {
                if (line == "data: [DONE]") return false;
                if (line.StartsWith("data: ", StringComparison.Ordinal) && ++chunks > stopAfter) return true; // disposing the response drops the connection
            }
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }
}
