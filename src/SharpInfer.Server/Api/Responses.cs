using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using SharpInfer.Inference;
using SharpInfer.Tokenization;

namespace SharpInfer.Server.Api;

/// <summary>Pieces of OpenAI's response shapes shared by the endpoints.</summary>
internal static class Responses
{
    /// <summary>An id like OpenAI's: a prefix and 24 random characters.</summary>
    public static string NewId(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    public static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>OpenAI's finish reasons: "stop" for an end-of-generation token or a stop string, "length" otherwise.</summary>
    public static string FinishReason(StopReason reason) => reason switch
    {
        StopReason.EndOfGeneration or StopReason.StopString => "stop",
        _ => "length",
    };

    public static JsonObject Usage(GenerationUsage usage) => Usage(usage.PromptTokens, usage.CompletionTokens, usage.CachedPromptTokens);

    public static JsonObject Usage(int prompt, int completion, int cached) => new()
    {
        ["prompt_tokens"] = prompt,
        ["completion_tokens"] = completion,
        ["total_tokens"] = prompt + completion,
        ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = cached },
    };

    /// <summary>A token's text as the logprobs report it (control tokens included) and its UTF-8 bytes.</summary>
    public static (string Text, byte[] Bytes) Piece(Tokenizer tokenizer, int token)
    {
        var bytes = tokenizer.TokenToPiece(token, special: true).ToArray();
        return (Encoding.UTF8.GetString(bytes), bytes);
    }

    /// <summary>One entry of chat logprobs content: {token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}.</summary>
    public static JsonObject ChatLogprob(Tokenizer tokenizer, TokenLogprobs logprobs)
    {
        var entry = Entry(tokenizer, logprobs.Token, logprobs.Logprob);
        var top = new JsonArray();
        foreach (var t in logprobs.Top) top.Add(Entry(tokenizer, t.Token, t.Logprob));
        entry["top_logprobs"] = top;
        return entry;
    }

    private static JsonObject Entry(Tokenizer tokenizer, int token, float logprob)
    {
        var (text, bytes) = Piece(tokenizer, token);
        var byteArray = new JsonArray();
        foreach (byte b in bytes) byteArray.Add(b);
        return new JsonObject { ["token"] = text, ["logprob"] = logprob, ["bytes"] = byteArray };
    }
}
