using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace SharpInfer.Server.Api;

/// <summary>Reading request bodies and writing JSON responses.</summary>
internal static class Json
{
    /// <summary>Non-ASCII text is written as is (JSON allows it), only what JSON requires is escaped.</summary>
    public static readonly JsonSerializerOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly JsonDocumentOptions Input = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow, AllowTrailingCommas = false };

    /// <summary>Serializes a node on one line.</summary>
    public static string Serialize(JsonNode node) => node.ToJsonString(Output);

    /// <summary>Writes <paramref name="node"/> as the response body.</summary>
    public static async Task WriteAsync(HttpContext http, JsonNode node, int status = 200)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(Serialize(node), http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the body as a JSON object. Malformed JSON, invalid UTF-8, nesting deeper than 64 and duplicate keys are
    /// 400; a body over the size limit is 413 (Kestrel's own limit, reported as it is read).
    /// </summary>
    public static async Task<JsonObject> ReadObjectAsync(HttpContext http)
    {
        JsonNode? node;
        try
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted).ConfigureAwait(false);
            if (buffer.Length == 0) throw new ApiException(400, "the request body is empty; send a JSON object");
            node = JsonNode.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), documentOptions: Input);
            // JsonObject reports duplicate keys, and strings their invalid escapes (lone surrogates), only when first
            // touched: touch everything now, so no endpoint meets them later.
            if (node is not null) TouchAll(node);
        }
        catch (BadHttpRequestException e)
        {
            throw new ApiException(e.StatusCode, e.StatusCode == 413 ? "the request body is too large" : $"bad request: {e.Message}");
        }
        catch (JsonException e)
        {
            throw new ApiException(400, $"the body is not valid JSON: {Short(e.Message)}", code: "invalid_json");
        }
        catch (ArgumentException e)
        {
            throw new ApiException(400, $"the body is not valid JSON: {Short(e.Message)}", code: "invalid_json");
        }
        catch (InvalidOperationException e)
        {
            throw new ApiException(400, $"the body is not valid JSON: {Short(e.Message)}", code: "invalid_json");
        }
        return node as JsonObject ?? throw new ApiException(400, "the body must be a JSON object", code: "invalid_json");
    }

    private static void TouchAll(JsonNode root)
    {
        var stack = new Stack<JsonNode>();
        stack.Push(root);
        while (stack.Count > 0)
        {
            switch (stack.Pop())
            {
                case JsonObject o:
                    foreach (var (_, value) in o) if (value is not null) stack.Push(value);
                    break;
                case JsonArray a:
                    foreach (var item in a) if (item is not null) stack.Push(item);
                    break;
                case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                    _ = v.GetValue<string>();
                    break;
            }
        }
    }

    private static string Short(string message)
    {
        message = message.ReplaceLineEndings(" ");
        return message.Length > 200 ? message[..200] + "…" : message;
    }
}
