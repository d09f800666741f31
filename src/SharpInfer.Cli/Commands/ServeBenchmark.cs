using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpInfer.Cli.Commands;

/// <summary>What one load level measured.</summary>
/// <param name="Clients">Concurrent clients.</param>
/// <param name="Requests">Requests that completed.</param>
/// <param name="Errors">Requests that failed (HTTP error or broken stream).</param>
/// <param name="GeneratedTokens">Tokens generated over all completed requests.</param>
/// <param name="Seconds">Wall time of the level.</param>
/// <param name="TtftMs">Time to first token of every completed request.</param>
/// <param name="ItlMs">Gaps between successive tokens of every completed request.</param>
internal sealed record LoadLevelResult(int Clients, int Requests, int Errors, long GeneratedTokens, double Seconds, double[] TtftMs, double[] ItlMs)
{
    public double TokensPerSecond => Seconds > 0 ? GeneratedTokens / Seconds : 0;

    /// <summary>Nearest-rank percentile (0 when there are no samples).</summary>
    public static double Percentile(double[] values, double p)
    {
        if (values.Length == 0) return 0;
        var sorted = values.Order().ToArray();
        int rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

/// <summary>
/// Load for an OpenAI-compatible server (ours or llama.cpp's llama-server): N clients each send streaming
/// <c>/v1/completions</c> requests one after another, with random token-id prompts of a given length (distinct per
/// request unless a shared prefix is asked for) and a fixed number of output tokens (<c>ignore_eos</c>, greedy).
/// Each token arrives as one server-sent event, which times the first token and the gaps between tokens.
/// </summary>
internal sealed class ServeBenchmark(HttpClient http, Uri baseUri, string? apiKey)
{
    public required int PromptTokens { get; init; }
    public required int GenerateTokens { get; init; }
    public required int RequestsPerClient { get; init; }
    public int SharedPrefix { get; init; }
    public ulong Seed { get; init; } = 1;

    /// <summary>Hears each request that ends (completed or failed), on the thread that ran it.</summary>
    public Action? RequestEnded { get; init; }

    /// <summary>The vocabulary size the server reports in /v1/models (meta.n_vocab, as llama-server and ours give it).</summary>
    public async Task<int?> VocabularyAsync(CancellationToken cancellation)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUri, "v1/models"));
        Authorize(request);
        using var response = await http.SendAsync(request, cancellation);
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"GET /v1/models answered {(int)response.StatusCode}");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellation));
        return body?["data"]?[0]?["meta"]?["n_vocab"]?.GetValue<int>();
    }

    /// <summary>Runs one level: <paramref name="clients"/> clients, each sending its requests in turn.</summary>
    public async Task<LoadLevelResult> RunAsync(int clients, int vocab, CancellationToken cancellation)
    {
        var ttft = new List<double>();
        var itl = new List<double>();
        int completed = 0, errors = 0;
        long tokens = 0;
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            for (int r = 0; r < RequestsPerClient; r++)
            {
                var prompt = Prompt(vocab, (ulong)(clients * 1_000_003 + client * 1009 + r));
                var one = await RequestAsync(prompt, cancellation);
                RequestEnded?.Invoke();
                lock (ttft)
                {
                    if (one is null)
                    {
                        errors++;
                        continue;
                    }
                    completed++;
                    tokens += one.Value.Tokens;
                    ttft.Add(one.Value.Ttft);
                    itl.AddRange(one.Value.Gaps);
                }
            }
        }, cancellation)).ToArray();
        await Task.WhenAll(tasks);
        return new LoadLevelResult(clients, completed, errors, tokens, clock.Elapsed.TotalSeconds, ttft.ToArray(), itl.ToArray());
    }

    /// <summary>One request; null when it failed.</summary>
    public async Task<(int Tokens, double Ttft, List<double> Gaps)?> RequestAsync(int[] prompt, CancellationToken cancellation)
    {
        var body = new JsonObject
        {
            ["prompt"] = new JsonArray(prompt.Select(t => (JsonNode)t).ToArray()),
            ["max_tokens"] = GenerateTokens,
            ["n_predict"] = GenerateTokens,
            ["ignore_eos"] = true,
            ["temperature"] = 0,
            ["stream"] = true,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, "v1/completions"))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        Authorize(request);
        // One connection per request: llama-server closes a keep-alive connection after a few requests (cpp-httplib's
        // limit), and a pooled connection it just closed fails the next request on it before anything is sent
        // (measured: 3–29 of 16–64 requests failed that way). A loopback connect costs both servers the same.
        request.Headers.ConnectionClose = true;
        var start = Stopwatch.GetTimestamp();
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation);
            if (!response.IsSuccessStatusCode) return Failed($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellation));
            long previous = 0;
            double first = -1;
            int chunks = 0;
            int? usageTokens = null;
            var gaps = new List<double>();
            while (await reader.ReadLineAsync(cancellation) is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                string data = line[6..];
                if (data == "[DONE]") break;
                var chunk = JsonNode.Parse(data);
                if (chunk?["error"] is { } error) return Failed($"an error event: {error["message"]}");
                if (chunk?["usage"]?["completion_tokens"] is { } used) usageTokens = used.GetValue<int>();
                // A token chunk has text and no finish reason (the closing chunk of either server has both, with empty text).
                if (chunk?["choices"] is not JsonArray { Count: > 0 } choices || choices[0]?["text"] is null || choices[0]?["finish_reason"] is JsonValue) continue;
                long now = Stopwatch.GetTimestamp();
                if (first < 0) first = Stopwatch.GetElapsedTime(start, now).TotalMilliseconds;
                else gaps.Add(Stopwatch.GetElapsedTime(previous, now).TotalMilliseconds);
                previous = now;
                chunks++;
            }
            return first < 0 ? Failed("the stream ended without a token") : (usageTokens ?? chunks, first, gaps);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
        {
            return Failed(e.Message);
        }
    }

    /// <summary>Why the first failed request failed (serve-bench prints it), or null.</summary>
    public string? FirstError => _firstError;

    private string? _firstError;

    private (int Tokens, double Ttft, List<double> Gaps)? Failed(string reason)
    {
        Interlocked.CompareExchange(ref _firstError, reason, null);
        return null;
    }

    /// <summary>A random prompt: the shared prefix (same for every request), then tokens of this request's own.</summary>
    private int[] Prompt(int vocab, ulong salt)
    {
        var prompt = new int[PromptTokens];
        var shared = new SharpInfer.Sampling.Xoshiro256(Seed);
        var own = new SharpInfer.Sampling.Xoshiro256(Seed ^ (salt * 0x9E3779B97F4A7C15UL + 1));
        // Skip the lowest ids, where vocabularies keep their control and byte tokens.
        int low = Math.Min(vocab - 1, Math.Max(3, vocab / 64));
        for (int i = 0; i < prompt.Length; i++)
        {
            var rng = i < SharedPrefix ? shared : own;
            prompt[i] = low + (int)(rng.NextUInt64() % (ulong)(vocab - low));
        }
        return prompt;
    }

    private void Authorize(HttpRequestMessage request)
    {
        if (apiKey is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }
}
