using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using SharpInfer.Templates;

namespace SharpInfer.Server.Tests;

/// <summary>Health, metrics, tokenize/detokenize, apply-template, limits and the error shape.</summary>
public class EndpointTests
{
    private static JsonArray UserMessage(string text) => new(new JsonObject { ["role"] = "user", ["content"] = text });

    [Fact]
    public async Task HealthIs503WhileTheModelLoadsThen200()
    {
        var gate = new TaskCompletionSource();
        var log = new StringWriter();
        await using var server = InferenceServer.Create(TestServer.DefaultOptions, TextWriter.Synchronized(log), gate.Task);
        await server.StartAsync();
        using var http = new HttpClient { BaseAddress = server.Address };
        using (var loading = await http.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, loading.StatusCode);
            Assert.Equal("loading model", (string?)JsonNode.Parse(await loading.Content.ReadAsStringAsync())!["status"]);
        }
        using (var early = await http.PostAsync("/v1/chat/completions", new StringContent("{}")))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, early.StatusCode);
            Assert.Equal("unavailable_error", (string?)JsonNode.Parse(await early.Content.ReadAsStringAsync())!["error"]!["type"]);
        }
        Assert.Contains("sharpinfer_model_loaded 0", await http.GetStringAsync("/metrics"));
        gate.SetResult();
        await server.ModelReady;
        using var ready = await http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ok", (string?)JsonNode.Parse(await ready.Content.ReadAsStringAsync())!["status"]);
    }

    [Fact]
    public async Task MetricsUsePrometheusTextWithTheDocumentedNames()
    {
        await using var server = await TestServer.StartAsync();
        var (status, reply) = await server.PostJsonAsync("/v1/completions", new JsonObject { ["prompt"] = "Once upon a time", ["max_tokens"] = 7 });
        Assert.Equal(200, status);
        using var response = await server.Http.GetAsync("/metrics");
        Assert.StartsWith("text/plain; version=0.0.4", response.Content.Headers.ContentType!.ToString());
        string text = await response.Content.ReadAsStringAsync();
        foreach (var (name, type) in new[]
        {
            ("requests_running", "gauge"), ("requests_queued", "gauge"), ("requests_total", "counter"), ("prompt_tokens_total", "counter"),
            ("generated_tokens_total", "counter"), ("kv_cells_used", "gauge"), ("kv_cells_total", "gauge"), ("prefix_cache_hit_tokens_total", "counter"),
        })
        {
            Assert.Contains($"# TYPE sharpinfer_{name} {type}\n", text);
        }
        var m = await server.MetricsAsync();
        Assert.Equal(1, m["sharpinfer_requests_total"]);
        Assert.Equal((int)reply!["usage"]!["prompt_tokens"]!, m["sharpinfer_prompt_tokens_total"]);
        Assert.Equal(7, m["sharpinfer_generated_tokens_total"]);
        Assert.Equal(2048, m["sharpinfer_kv_cells_total"]);
        // The prompt and six evaluated tokens (the seventh was sampled, never evaluated) stay cached.
        Assert.Equal((int)reply["usage"]!["prompt_tokens"]! + 6, m["sharpinfer_kv_cells_used"]);
    }

    [Fact]
    public async Task TokenizeDetokenizeAndApplyTemplateAgreeWithTheLibrary()
    {
        await using var server = await TestServer.StartAsync();
        var tokenizer = server.Loaded.Model.Tokenizer;
        var (status, tokens) = await server.PostJsonAsync("/tokenize", new JsonObject { ["content"] = "Once upon a time", ["add_special"] = true });
        Assert.Equal(200, status);
        var ids = tokens!["tokens"]!.AsArray().Select(t => (int)t!).ToArray();
        Assert.Equal(tokenizer.Tokenize("Once upon a time", true, true), ids);
        var (_, pieces) = await server.PostJsonAsync("/tokenize", new JsonObject { ["content"] = "Once", ["with_pieces"] = true });
        Assert.Equal("Once", string.Concat(pieces!["tokens"]!.AsArray().Select(p => (string)p!["piece"]!)).TrimStart());

        var (_, text) = await server.PostJsonAsync("/detokenize", new JsonObject { ["tokens"] = new JsonArray(ids.Skip(1).Select(i => (JsonNode)i).ToArray()) });
        Assert.Equal("Once upon a time", ((string)text!["content"]!).TrimStart());

        var messages = new JsonArray(new JsonObject { ["role"] = "system", ["content"] = "Be brief." }, new JsonObject { ["role"] = "user", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "Hi" }) });
        var (_, applied) = await server.PostJsonAsync("/apply-template", new JsonObject { ["messages"] = messages });
        var expected = ChatTemplate.Parse(ChatTemplates.ChatMl).Render(new ChatTemplateInput
        {
            Messages = new JsonArray(new JsonObject { ["role"] = "system", ["content"] = "Be brief." }, new JsonObject { ["role"] = "user", ["content"] = "Hi" }),
            AddGenerationPrompt = true,
            BosToken = "<s>",
            EosToken = "</s>",
        });
        Assert.Equal(expected, (string?)applied!["prompt"]);
    }

    [Fact]
    public async Task LimitsAndMistakesGetOpenAiStyleErrors()
    {
        await using var server = await TestServer.StartAsync(o => o with { MaxBodyBytes = 4096, ContextSize = 128, Parallel = 2 });
        async Task<JsonObject> Expect(int status, string path, string body, string? param)
        {
            using var response = await server.PostAsync(path, body);
            Assert.Equal(status, (int)response.StatusCode);
            var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.AsObject();
            Assert.False(string.IsNullOrEmpty((string?)error["message"]));
            Assert.False(string.IsNullOrEmpty((string?)error["type"]));
            Assert.True(error.ContainsKey("param") && error.ContainsKey("code"));
            Assert.Equal(param, (string?)error["param"]);
            return error;
        }
        string Chat(string extra) => $"{{\"messages\": [{{\"role\": \"user\", \"content\": \"hi\"}}]{extra}}}";
        await Expect(400, "/v1/chat/completions", Chat(", \"temperature\": \"warm\""), "temperature");
        await Expect(400, "/v1/chat/completions", Chat(", \"max_tokens\": 0"), "max_tokens");
        await Expect(400, "/v1/chat/completions", Chat(", \"n\": 3"), "n");
        await Expect(400, "/v1/chat/completions", Chat(", \"top_logprobs\": 2"), "top_logprobs");
        await Expect(400, "/v1/chat/completions", Chat(", \"logit_bias\": {\"512\": 5}"), "logit_bias");
        await Expect(400, "/v1/chat/completions", "{\"messages\": [{\"content\": \"no role\"}]}", "messages[0].role");
        await Expect(400, "/v1/chat/completions", Chat(", \"stop\": [\"a\", 7]"), "stop");
        await Expect(400, "/v1/completions", "{\"prompt\": \"" + string.Concat(Enumerable.Repeat("story ", 150)) + "\"}", "prompt");
        await Expect(400, "/v1/completions", "{\"prompt\": [1, 2, 700]}", "prompt");
        await Expect(413, "/v1/chat/completions", Chat(", \"padding\": \"" + new string('x', 5000) + "\""), null);
        await Expect(404, "/v1/audio/speech", "{}", null);
        var notJson = await Expect(400, "/v1/chat/completions", "{\"messages\": [", null);
        Assert.Equal("invalid_json", (string?)notJson["code"]);
    }

    [Fact]
    public async Task AFullQueueAnswers503WithRetryAfter()
    {
        // 1 ms per step: the first request runs for seconds.
        await using var server = await TestServer.StartAsync(o => o with { Parallel = 1, MaxQueue = 0, StepDelay = TimeSpan.FromMilliseconds(1) });
        string body = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 2000, \"ignore_eos\": true, \"stream\": true}";
        using var first = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var running = await server.Http.SendAsync(first, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, running.StatusCode);
        using var refused = await server.PostAsync("/v1/completions", "{\"prompt\": \"Hi\", \"max_tokens\": 2}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter is not null, "a 503 for a full queue must say when to retry");
        Assert.Equal("queue_full", (string?)JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!["code"]);
    }

    [Fact]
    public async Task TheApiKeyGuardsEverythingButTheChatPageAndHealth()
    {
        await using var server = await TestServer.StartAsync(o => o with { ApiKey = "k3y" });
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health")).StatusCode);
        foreach (var key in new[] { null, "k3", "K3Y", "k3yy", "k3y k3y" })
        {
            using var response = await server.PostAsync("/tokenize", "{\"content\": \"a\"}", key);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("invalid_api_key", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!["code"]);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.GetAsync("/metrics")).StatusCode);
        using var ok = await server.PostAsync("/tokenize", "{\"content\": \"a\"}", "k3y");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task StreamedChunksFollowOpenAisShape()
    {
        await using var server = await TestServer.StartAsync();
        string body = "{\"messages\": [{\"role\": \"user\", \"content\": \"Once upon a time\"}], \"stream\": true, \"max_tokens\": 5, \"n\": 2, \"logprobs\": true, \"top_logprobs\": 3, \"ignore_eos\": true, \"seed\": 1, \"stream_options\": {\"include_usage\": true}}";
        using var response = await server.PostAsync("/v1/chat/completions", body);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var events = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e["data: ".Length..])!).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.Single(chunks.Select(c => (string?)c["id"]).Distinct());
        var usage = chunks[^1];
        Assert.Empty(usage["choices"]!.AsArray());
        Assert.Equal(10, (int)usage["usage"]!["completion_tokens"]!);
        foreach (int index in new[] { 0, 1 })
        {
            var mine = chunks.Take(chunks.Count - 1).Select(c => c["choices"]![0]!).Where(c => (int)c["index"]! == index).ToList();
            Assert.Equal("assistant", (string?)mine[0]["delta"]!["role"]);
            Assert.Equal("length", (string?)mine[^1]["finish_reason"]);
            var tokens = mine.Where(c => c["logprobs"] is not null).ToList();
            Assert.Equal(5, tokens.Count);
            Assert.All(tokens, t => Assert.Equal(3, t["logprobs"]!["content"]![0]!["top_logprobs"]!.AsArray().Count));
        }
    }

    [Fact]
    public async Task StreamedLogprobOffsetsCountTheEchoedPromptAsUnstreamedOnesDo()
    {
        await using var server = await TestServer.StartAsync();
        string request = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 6, \"temperature\": 0, \"echo\": true, \"logprobs\": 2, \"ignore_eos\": true";
        var (status, whole) = await server.PostJsonAsync("/v1/completions", JsonNode.Parse(request + "}")!);
        Assert.Equal(200, status);
        var expected = whole!["choices"]![0]!["logprobs"]!["text_offset"]!.AsArray().Select(o => (int)o!).ToList();
        // The first generated token starts after the echoed prompt.
        Assert.True(expected[0] >= "Once upon a time".Length, $"the first offset {expected[0]} is inside the echoed prompt");

        using var response = await server.PostAsync("/v1/completions", request + ", \"stream\": true}");
        var offsets = (await response.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries)
            .Where(e => e != "data: [DONE]")
            .Select(e => JsonNode.Parse(e["data: ".Length..])!["choices"]![0]!["logprobs"])
            .Where(l => l is not null)
            .SelectMany(l => l!["text_offset"]!.AsArray().Select(o => (int)o!))
            .ToList();
        Assert.Equal(expected, offsets);
    }
}
