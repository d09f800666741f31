using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using SharpInfer.Inference;

namespace SharpInfer.Server.Api;

/// <summary><c>POST /v1/chat/completions</c>: messages through the chat template, then the scheduler; a JSON reply or server-sent events.</summary>
internal static class ChatCompletions
{
    public static async Task HandleAsync(HttpContext http, LoadedModel model)
    {
        var f = new RequestFields(await Json.ReadObjectAsync(http).ConfigureAwait(false));
        f.String("model");
        var messages = ChatPrompt.Messages(f.Array("messages"));
        bool logprobs = f.Bool("logprobs") ?? false;
        int? top = f.Int("top_logprobs", 0, TokenLogprobs.MaxTop);
        if (top is not null && !logprobs) throw ApiException.Invalid("top_logprobs", "'top_logprobs' needs 'logprobs': true");
        var p = GenerationParameters.Read(f, model.Context.VocabSize, model.Scheduler.MaxRunningSequences, logprobs ? top ?? 0 : -1);
        string text = ChatPrompt.Render(model, messages, f.Array("tools"), addGenerationPrompt: true);
        var prompt = ChatPrompt.Tokenize(model, text);
        var stream = Submission.Submit(model, p.ToRequest(prompt), http, "messages");
        var reply = new Reply(Responses.NewId("chatcmpl-"), Responses.Now(), model);
        if (p.Stream) await StreamAsync(http, stream, reply, p).ConfigureAwait(false);
        else await Json.WriteAsync(http, await CompleteAsync(http, stream, reply).ConfigureAwait(false)).ConfigureAwait(false);
    }

    private sealed record Reply(string Id, long Created, LoadedModel Model)
    {
        public JsonObject Envelope(string objectName, JsonArray choices) => new()
        {
            ["id"] = Id,
            ["object"] = objectName,
            ["created"] = Created,
            ["model"] = Model.Name,
            ["system_fingerprint"] = "sharpinfer",
            ["choices"] = choices,
        };
    }

    private static async Task<JsonObject> CompleteAsync(HttpContext http, GenerationStream stream, Reply reply)
    {
        var summary = await stream.CollectAsync(http.RequestAborted).ConfigureAwait(false);
        Submission.ThrowIfCancelledByServer(summary.Choices.Select(c => c.Reason));
        var tokenizer = reply.Model.Model.Tokenizer;
        var choices = new JsonArray();
        foreach (var (choice, i) in summary.Choices.Select((c, i) => (c, i)))
        {
            JsonObject? logprobs = null;
            if (choice.Logprobs.Count > 0) logprobs = new JsonObject { ["content"] = new JsonArray(choice.Logprobs.Select(lp => (JsonNode)Responses.ChatLogprob(tokenizer, lp)).ToArray()), ["refusal"] = null };
            choices.Add(new JsonObject
            {
                ["index"] = i,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = choice.Text, ["refusal"] = null },
                ["logprobs"] = logprobs,
                ["finish_reason"] = Responses.FinishReason(choice.Reason),
            });
        }
        var body = reply.Envelope("chat.completion", choices);
        body["usage"] = Responses.Usage(summary.Usage);
        return body;
    }

    private static async Task StreamAsync(HttpContext http, GenerationStream stream, Reply reply, GenerationParameters p)
    {
        var sse = new ServerSentEvents(http);
        await sse.StartAsync().ConfigureAwait(false);
        var tokenizer = reply.Model.Model.Tokenizer;
        for (int i = 0; i < stream.Choices; i++) await sse.WriteAsync(Chunk(reply, i, new JsonObject { ["role"] = "assistant", ["content"] = "" })).ConfigureAwait(false);
        await foreach (var e in stream.WithCancellation(http.RequestAborted).ConfigureAwait(false))
        {
            switch (e)
            {
                // One chunk per token, even when its text is held back (part of a character or of a stop string), so
                // clients can count tokens and time them.
                case TokenGenerated t:
                    var lp = t.Logprobs is { } l ? new JsonObject { ["content"] = new JsonArray(Responses.ChatLogprob(tokenizer, l)), ["refusal"] = null } : null;
                    await sse.WriteAsync(Chunk(reply, t.Choice, new JsonObject { ["content"] = t.Text }, lp)).ConfigureAwait(false);
                    break;
                case ChoiceFinished c when c.Reason == StopReason.Cancelled:
                    await sse.WriteAsync(Submission.ShuttingDown().Body()).ConfigureAwait(false);
                    return;
                case ChoiceFinished c:
                    if (c.Text.Length > 0) await sse.WriteAsync(Chunk(reply, c.Choice, new JsonObject { ["content"] = c.Text })).ConfigureAwait(false);
                    await sse.WriteAsync(Chunk(reply, c.Choice, new JsonObject(), finishReason: Responses.FinishReason(c.Reason))).ConfigureAwait(false);
                    break;
                case GenerationCompleted done when p.IncludeUsage:
                    var usage = reply.Envelope("chat.completion.chunk", []);
                    usage["usage"] = Responses.Usage(done.Usage);
                    await sse.WriteAsync(usage).ConfigureAwait(false);
                    break;
            }
        }
        await sse.DoneAsync().ConfigureAwait(false);
    }

    private static JsonObject Chunk(Reply reply, int choice, JsonObject delta, JsonNode? logprobs = null, string? finishReason = null)
    {
        var chunk = reply.Envelope("chat.completion.chunk", [new JsonObject
        {
            ["index"] = choice,
            ["delta"] = delta,
            ["logprobs"] = logprobs,
            ["finish_reason"] = finishReason,
        }]);
        chunk["usage"] = null;
        return chunk;
    }
}
