using System.Text.Json.Nodes;
using SharpInfer.Inference;
using SharpInfer.Sampling;

namespace SharpInfer.Server.Api;

/// <summary>The generation fields shared by chat completions and completions, read and checked.</summary>
internal sealed record GenerationParameters(
    bool Stream,
    bool IncludeUsage,
    int Choices,
    int MaxTokens,
    SamplingOptions Sampling,
    IReadOnlyList<string> Stops,
    bool IgnoreEos,
    int TopLogprobs)
{
    /// <summary>At most this many stop strings, each at most this long (OpenAI allows 4; llama.cpp more).</summary>
    private const int MaxStops = 16, MaxStopLength = 1000;

    /// <summary>
    /// Reads stream, n, max_tokens (or max_completion_tokens), temperature, top_p, top_k, min_p, seed, stop,
    /// presence/frequency/repeat penalties and the window they look at (repeat_last_n, default 64), logit_bias and
    /// ignore_eos. Logprob fields differ between the two APIs and
    /// are given by the caller. Defaults are llama.cpp's sampler chain (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05).
    /// </summary>
    public static GenerationParameters Read(RequestFields f, int vocab, int maxChoices, int topLogprobs)
    {
        bool stream = f.Bool("stream") ?? false;
        bool includeUsage = false;
        if (f.Object("stream_options") is { } streamOptions) includeUsage = RequestFields.Bool(streamOptions["include_usage"], "stream_options.include_usage") ?? false;
        int n = f.Int("n", 1, maxChoices) ?? 1;
        int? maxTokens = f.Int("max_completion_tokens", 1, int.MaxValue) ?? f.Int("max_tokens", 1, int.MaxValue);
        var defaults = new SamplingOptions();
        var sampling = new SamplingOptions
        {
            Temperature = (float)(f.Number("temperature", 0, 2) ?? defaults.Temperature),
            TopP = (float)(f.Number("top_p", 0, 1) ?? defaults.TopP),
            TopK = f.Int("top_k", 0, int.MaxValue) ?? defaults.TopK,
            MinP = (float)(f.Number("min_p", 0, 1) ?? defaults.MinP),
            PresencePenalty = (float)(f.Number("presence_penalty", -2, 2) ?? 0),
            FrequencyPenalty = (float)(f.Number("frequency_penalty", -2, 2) ?? 0),
            RepeatPenalty = (float)(f.Number("repeat_penalty", 0.01, 100) ?? defaults.RepeatPenalty),
            PenaltyLastN = f.Int("repeat_last_n", -1, 1 << 20) ?? defaults.PenaltyLastN,
            Seed = f.Integer("seed", long.MinValue, long.MaxValue) is { } seed ? unchecked((ulong)seed) : null,
            LogitBias = LogitBias(f.Object("logit_bias"), vocab),
        };
        return new GenerationParameters(stream, includeUsage, n, maxTokens ?? -1, sampling, ReadStops(f.Node("stop")), f.Bool("ignore_eos") ?? false, topLogprobs);
    }

    /// <summary>The scheduler request for a tokenized prompt.</summary>
    public GenerationRequest ToRequest(int[] prompt) => new()
    {
        PromptTokens = prompt,
        Choices = Choices,
        MaxTokens = MaxTokens,
        Sampling = Sampling,
        StopStrings = Stops,
        StopAtEndOfGeneration = !IgnoreEos,
        TopLogprobs = TopLogprobs,
    };

    private static IReadOnlyList<string> ReadStops(JsonNode? node)
    {
        if (node is null) return [];
        if (node is JsonValue) return [RequestFields.String(node, "stop", MaxStopLength)!];
        if (node is not JsonArray array) throw ApiException.Invalid("stop", "'stop' must be a string or an array of strings");
        if (array.Count > MaxStops) throw ApiException.Invalid("stop", $"'stop' may hold at most {MaxStops} strings");
        return array.Select(s => RequestFields.String(s, "stop", MaxStopLength) ?? throw ApiException.Invalid("stop", "'stop' must hold strings")).ToArray();
    }

    private static Dictionary<int, float>? LogitBias(JsonObject? bias, int vocab)
    {
        if (bias is null) return null;
        var result = new Dictionary<int, float>();
        foreach (var (key, value) in bias)
        {
            if (!int.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id) || id >= vocab)
            {
                throw ApiException.Invalid("logit_bias", $"'logit_bias' keys must be token ids 0..{vocab - 1} (got '{Clip(key)}')");
            }
            result[id] = (float)(RequestFields.Number(value, "logit_bias", -100, 100) ?? throw ApiException.Invalid("logit_bias", "'logit_bias' values must be numbers"));
        }
        return result;
    }

    private static string Clip(string s) => s.Length > 40 ? s[..40] + "…" : s;
}
