using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using SharpInfer.Inference;

namespace SharpInfer.Server.Api;

/// <summary>
/// <c>POST /v1/embeddings</c>: <c>input</c> a string, a list of strings, a list of token ids or a list of such lists;
/// each becomes one pooled, unit-length embedding computed on the scheduler beside running generations.
/// <c>encoding_format</c> <c>float</c> (default) or <c>base64</c> (little-endian float32, what the OpenAI SDKs ask for).
/// </summary>
internal static class Embeddings
{
    /// <summary>Inputs per request at most (OpenAI's limit).</summary>
    private const int MaxInputs = 2048;

    public static async Task HandleAsync(HttpContext http, LoadedModel model)
    {
        var f = new RequestFields(await Json.ReadObjectAsync(http).ConfigureAwait(false));
        f.String("model");
        f.String("user");
        string format = f.String("encoding_format", 16) ?? "float";
        if (format is not ("float" or "base64")) throw ApiException.Invalid("encoding_format", $"'encoding_format' must be 'float' or 'base64' (got '{format}')");
        int width = model.Context.EmbeddingLength;
        if (f.Int("dimensions", 1, int.MaxValue) is { } dimensions && dimensions != width)
        {
            throw ApiException.Invalid("dimensions", $"this model's embeddings have {width} dimensions; 'dimensions' cannot change that (got {dimensions})");
        }
        PoolingType pooling;
        try
        {
            pooling = model.Host.Pooling;
        }
        catch (NotSupportedException e)
        {
            throw new ApiException(400, $"this model cannot produce embeddings: {e.Message}", code: "model_not_supported");
        }
        var inputs = Inputs(f.Node("input"), model);
        var data = new JsonArray();
        int tokens = 0;
        for (int i = 0; i < inputs.Count; i++)
        {
            var result = await EmbedAsync(model, inputs[i], pooling, http).ConfigureAwait(false);
            tokens += result.Tokens;
            data.Add(new JsonObject
            {
                ["object"] = "embedding",
                ["index"] = i,
                ["embedding"] = format == "base64" ? Convert.ToBase64String(MemoryMarshal.AsBytes(result.Vector.AsSpan())) : new JsonArray(result.Vector.Select(v => (JsonNode)v).ToArray()),
            });
        }
        await Json.WriteAsync(http, new JsonObject
        {
            ["object"] = "list",
            ["data"] = data,
            ["model"] = model.Name,
            ["usage"] = new JsonObject { ["prompt_tokens"] = tokens, ["total_tokens"] = tokens },
        }).ConfigureAwait(false);
    }

    private static async Task<EmbeddingResult> EmbedAsync(LoadedModel model, int[] tokens, PoolingType pooling, HttpContext http)
    {
        int capacity = model.Scheduler.Capacity;
        if (tokens.Length > capacity)
        {
            throw new ApiException(400, $"an input is {tokens.Length} tokens, more than the context's {capacity}; shorten it or start the server with a larger -c", "input", "context_length_exceeded");
        }
        try
        {
            return await model.Scheduler.EmbedAsync(tokens, pooling, http.RequestAborted).ConfigureAwait(false);
        }
        catch (SchedulerUnavailableException e)
        {
            throw new ApiException(503, e.ShuttingDown ? "the server is shutting down" : e.Message, code: e.ShuttingDown ? "shutting_down" : "queue_full");
        }
        catch (TaskCanceledException) when (!http.RequestAborted.IsCancellationRequested)
        {
            throw Submission.ShuttingDown();
        }
    }

    /// <summary>The inputs as token lists: texts are tokenized as embedding inputs, token lists checked against the vocabulary.</summary>
    private static List<int[]> Inputs(JsonNode? input, LoadedModel model)
    {
        const string Usage = "'input' must be a string, an array of strings, an array of token ids or an array of token-id arrays";
        if (input is null) throw ApiException.Invalid("input", "'input' is required");
        int vocab = model.Context.VocabSize;
        var result = new List<int[]>();
        if (input is JsonValue) result.Add(Text(input, "input", model));
        else if (input is not JsonArray items || items.Count == 0) throw ApiException.Invalid("input", input is JsonArray ? "'input' must not be empty" : Usage);
        else if (items[0] is JsonValue first && first.TryGetValue(out long _)) result.Add(RequestFields.TokenIds(items, "input", vocab));
        else
        {
            if (items.Count > MaxInputs) throw ApiException.Invalid("input", $"'input' may hold at most {MaxInputs} items");
            for (int i = 0; i < items.Count; i++)
            {
                string param = $"input[{i}]";
                result.Add(items[i] switch
                {
                    JsonArray ids when ids.Count > 0 => RequestFields.TokenIds(ids, param, vocab),
                    JsonValue text => Text(text, param, model),
                    _ => throw ApiException.Invalid(param, $"'{param}' must be a non-empty string or token-id array"),
                });
            }
        }
        return result;
    }

    private static int[] Text(JsonNode node, string param, LoadedModel model)
    {
        string text = RequestFields.String(node, param) ?? throw ApiException.Invalid(param, $"'{param}' must be a string");
        if (text.Length == 0) throw ApiException.Invalid(param, $"'{param}' must not be empty");
        var tokens = model.Host.TokenizeEmbeddingInput(text);
        return tokens.Length > 0 ? tokens : throw ApiException.Invalid(param, $"'{param}' has no tokens");
    }
}
