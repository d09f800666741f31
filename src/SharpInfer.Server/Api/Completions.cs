using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;
using SharpInfer.Inference;

namespace SharpInfer.Server.Api;

/// <summary>
/// <c>POST /v1/completions</c>: a prompt as text, token ids, or a list of either (one request per prompt; choice
/// index = prompt index × n + choice), continued as is (no chat template).
/// </summary>
internal static class Completions
{
    private const int MaxPrompts = 64, MaxLegacyLogprobs = 5;

    public static async Task HandleAsync(HttpContext http, LoadedModel model)
    {
        var f = new RequestFields(await Json.ReadObjectAsync(http).ConfigureAwait(false));
        f.String("model");
        var prompts = Prompts(f.Node("prompt"), model);
        int? logprobs = f.Int("logprobs", 0, MaxLegacyLogprobs);
        bool echo = f.Bool("echo") ?? false;
        if (f.String("suffix") is { Length: > 0 }) throw ApiException.Invalid("suffix", "'suffix' (fill-in-the-middle) is not supported");
        var p = GenerationParameters.Read(f, model.Context.VocabSize, model.Scheduler.MaxRunningSequences, logprobs ?? -1);
        if (f.Int("best_of", 1, 128) is { } bestOf && bestOf != p.Choices) throw ApiException.Invalid("best_of", "'best_of' other than n is not supported");

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var streams = new List<GenerationStream>();
        try
        {
            foreach (var prompt in prompts) streams.Add(Submission.Submit(model, p.ToRequest(prompt), http, "prompt"));
        }
        catch
        {
            foreach (var s in streams) await s.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        var reply = new Reply(Responses.NewId("cmpl-"), Responses.Now(), model, p.Choices, echo ? prompts.Select(t => model.Model.Tokenizer.Detokenize(t)).ToArray() : null);
        try
        {
            if (p.Stream) await StreamAsync(http, Merge(streams, stop.Token), reply, p.IncludeUsage, streams.Count).ConfigureAwait(false);
            else await Json.WriteAsync(http, await CompleteAsync(streams, reply, stop.Token).ConfigureAwait(false)).ConfigureAwait(false);
        }
        finally
        {
            stop.Cancel();
            foreach (var s in streams) await s.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static List<int[]> Prompts(JsonNode? node, LoadedModel model)
    {
        int vocab = model.Context.VocabSize;
        int[] One(JsonNode? item, string param) => item switch
        {
            JsonValue => Tokenize(RequestFields.String(item, param)!, model, param),
            JsonArray ids => ids.Count > 0 ? RequestFields.TokenIds(ids, param, vocab) : throw ApiException.Invalid(param, $"'{param}' must not be empty"),
            _ => throw ApiException.Invalid(param, $"'{param}' must be a string, an array of token ids, or an array of those"),
        };
        switch (node)
        {
            case null:
                throw ApiException.Invalid("prompt", "'prompt' is required");
            case JsonArray { Count: 0 }:
                throw ApiException.Invalid("prompt", "'prompt' must not be empty");
            case JsonArray array when array[0] is JsonArray || array[0] is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.String:
                if (array.Count > MaxPrompts) throw ApiException.Invalid("prompt", $"at most {MaxPrompts} prompts per request");
                bool lists = array[0] is JsonArray;
                if (array.Any(item => item is JsonArray != lists)) throw ApiException.Invalid("prompt", "'prompt' must list either texts or token-id arrays, not both");
                return array.Select((item, i) => One(item, $"prompt[{i}]")).ToList();
            default:
                return [One(node, "prompt")];
        }
    }

    private static int[] Tokenize(string text, LoadedModel model, string param)
    {
        var tokens = model.Model.Tokenizer.Tokenize(text, addSpecial: true, parseSpecial: true);
        return tokens.Length > 0 ? tokens : throw ApiException.Invalid(param, $"'{param}' is empty");
    }

    /// <summary>Events of several requests in one stream, tagged with the request's index.</summary>
    private static ChannelReader<(int Prompt, GenerationEvent Event)> Merge(List<GenerationStream> streams, CancellationToken cancellation)
    {
        var channel = Channel.CreateUnbounded<(int, GenerationEvent)>(new UnboundedChannelOptions { SingleReader = true });
        var pumps = streams.Select((stream, index) => Task.Run(async () =>
        {
            await foreach (var e in stream.WithCancellation(cancellation).ConfigureAwait(false)) channel.Writer.TryWrite((index, e));
        })).ToArray();
        _ = Task.WhenAll(pumps).ContinueWith(t => channel.Writer.TryComplete(t.Exception?.GetBaseException()), TaskScheduler.Default);
        return channel.Reader;
    }

    private sealed class Reply(string id, long created, LoadedModel model, int choicesPerPrompt, string[]? echo)
    {
        public LoadedModel Model => model;

        public int Index(int prompt, int choice) => prompt * choicesPerPrompt + choice;

        public string? Echo(int prompt) => echo?[prompt];

        public int ChoicesPerPrompt => choicesPerPrompt;

        public JsonObject Envelope(JsonArray choices) => new()
        {
            ["id"] = id,
            ["object"] = "text_completion",
            ["created"] = created,
            ["model"] = model.Name,
            ["system_fingerprint"] = "sharpinfer",
            ["choices"] = choices,
        };
    }

    /// <summary>Legacy logprobs of one choice: tokens, token_logprobs, top_logprobs (token → logprob), text_offset.</summary>
    private sealed class LegacyLogprobs
    {
        public readonly JsonArray Tokens = new(), TokenLogprobs = new(), Top = new(), Offsets = new();
        private int _offset;

        public LegacyLogprobs(int offset) => _offset = offset;

        public void Add(SharpInfer.Tokenization.Tokenizer tokenizer, TokenLogprobs lp)
        {
            var (text, _) = Responses.Piece(tokenizer, lp.Token);
            Tokens.Add(text);
            TokenLogprobs.Add(lp.Logprob);
            var top = new JsonObject();
            foreach (var t in lp.Top) top[Responses.Piece(tokenizer, t.Token).Text] = t.Logprob;
            Top.Add(top);
            Offsets.Add(_offset);
            _offset += text.Length;
        }

        public JsonObject ToJson() => new() { ["tokens"] = Tokens, ["token_logprobs"] = TokenLogprobs, ["top_logprobs"] = Top, ["text_offset"] = Offsets };
    }

    private static async Task<JsonObject> CompleteAsync(List<GenerationStream> streams, Reply reply, CancellationToken cancellation)
    {
        var summaries = await Task.WhenAll(streams.Select(s => s.CollectAsync(cancellation))).ConfigureAwait(false);
        Submission.ThrowIfCancelledByServer(summaries.SelectMany(s => s.Choices).Select(c => c.Reason));
        var tokenizer = reply.Model.Model.Tokenizer;
        var choices = new JsonArray();
        for (int p = 0; p < summaries.Length; p++)
        {
            string echo = reply.Echo(p) ?? "";
            foreach (var (choice, c) in summaries[p].Choices.Select((choice, c) => (choice, c)))
            {
                LegacyLogprobs? logprobs = null;
                foreach (var lp in choice.Logprobs) (logprobs ??= new LegacyLogprobs(echo.Length)).Add(tokenizer, lp);
                choices.Add(new JsonObject
                {
                    ["text"] = echo + choice.Text,
                    ["index"] = reply.Index(p, c),
                    ["logprobs"] = logprobs?.ToJson(),
                    ["finish_reason"] = Responses.FinishReason(choice.Reason),
                });
            }
        }
        var body = reply.Envelope(choices);
        body["usage"] = Responses.Usage(summaries.Sum(s => s.Usage.PromptTokens), summaries.Sum(s => s.Usage.CompletionTokens), summaries.Sum(s => s.Usage.CachedPromptTokens));
        return body;
    }

    private static async Task StreamAsync(HttpContext http, ChannelReader<(int Prompt, GenerationEvent Event)> events, Reply reply, bool includeUsage, int prompts)
    {
        var sse = new ServerSentEvents(http);
        await sse.StartAsync().ConfigureAwait(false);
        var tokenizer = reply.Model.Model.Tokenizer;
        // Logprob text offsets count from the start of the choice's text, echoed prompt included (as without streaming).
        var offsets = new int[prompts * reply.ChoicesPerPrompt];
        for (int p = 0; p < prompts; p++)
        {
            if (reply.Echo(p) is not { Length: > 0 } echo) continue;
            for (int c = 0; c < reply.ChoicesPerPrompt; c++)
            {
                offsets[reply.Index(p, c)] = echo.Length;
                await sse.WriteAsync(Chunk(reply, reply.Index(p, c), echo)).ConfigureAwait(false);
            }
        }
        int promptTokens = 0, completionTokens = 0, cached = 0;
        await foreach (var (prompt, e) in events.ReadAllAsync(http.RequestAborted).ConfigureAwait(false))
        {
            switch (e)
            {
                // One chunk per token, even when its text is held back (part of a character or of a stop string), so
                // clients can count tokens and time them.
                case TokenGenerated t:
                    int i = reply.Index(prompt, t.Choice);
                    JsonObject? lp = null;
                    if (t.Logprobs is { } l)
                    {
                        var one = new LegacyLogprobs(offsets[i]);
                        one.Add(tokenizer, l);
                        offsets[i] += Responses.Piece(tokenizer, l.Token).Text.Length;
                        lp = one.ToJson();
                    }
                    await sse.WriteAsync(Chunk(reply, i, t.Text, lp)).ConfigureAwait(false);
                    break;
                case ChoiceFinished c when c.Reason == StopReason.Cancelled:
                    await sse.WriteAsync(Submission.ShuttingDown().Body()).ConfigureAwait(false);
                    return;
                case ChoiceFinished c:
                    await sse.WriteAsync(Chunk(reply, reply.Index(prompt, c.Choice), c.Text, null, Responses.FinishReason(c.Reason))).ConfigureAwait(false);
                    break;
                case GenerationCompleted done:
                    promptTokens += done.Usage.PromptTokens;
                    completionTokens += done.Usage.CompletionTokens;
                    cached += done.Usage.CachedPromptTokens;
                    break;
            }
        }
        if (includeUsage)
        {
            var usage = reply.Envelope([]);
            usage["usage"] = Responses.Usage(promptTokens, completionTokens, cached);
            await sse.WriteAsync(usage).ConfigureAwait(false);
        }
        await sse.DoneAsync().ConfigureAwait(false);
    }

    private static JsonObject Chunk(Reply reply, int index, string text, JsonObject? logprobs = null, string? finishReason = null) => reply.Envelope([new JsonObject
    {
        ["text"] = text,
        ["index"] = index,
        ["logprobs"] = logprobs,
        ["finish_reason"] = finishReason,
    }]);
}
