using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace SharpInfer.Cli.Commands;

/// <summary>
/// <c>sharpinfer serve-bench</c>: load for a running OpenAI-compatible server at several client counts; prints
/// aggregate generated tokens/s, time to first token and inter-token latency (median and p99) per level.
/// Works against <c>sharpinfer serve</c> and llama.cpp's <c>llama-server</c> alike, so the two can be compared on
/// the same model and load.
/// </summary>
internal static class ServeBenchCommand
{
    public static Command Create(CliIO io)
    {
        var url = new Option<string>("--url") { Description = "server address", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var clients = new Option<string>("--clients", "-c") { Description = "comma-separated client counts, one load level each", DefaultValueFactory = _ => "1,4,8,16" };
        var prompt = new Option<int>("--prompt-tokens", "-p") { Description = "prompt length in tokens (random ids)", DefaultValueFactory = _ => 128 };
        var gen = new Option<int>("--gen-tokens", "-n") { Description = "tokens generated per request (end of text ignored)", DefaultValueFactory = _ => 128 };
        var requests = new Option<int>("--requests", "-r") { Description = "requests each client sends, one after another", DefaultValueFactory = _ => 4 };
        var shared = new Option<int>("--shared-prefix") { Description = "leading prompt tokens that are the same in every request (exercises prefix caches)" };
        var vocab = new Option<int>("--vocab") { Description = "vocabulary size for the random prompts (default: what /v1/models reports)" };
        var apiKey = new Option<string?>("--api-key") { Description = "Bearer key" };
        var timeout = new Option<double>("--timeout") { Description = "seconds one request may take", DefaultValueFactory = _ => 600 };
        var format = new Option<string>("--output", "-o") { Description = "md or json", DefaultValueFactory = _ => "md" };
        var command = new Command("serve-bench", "Measure a running server under concurrent streaming clients (throughput, TTFT, inter-token latency)") { url, clients, prompt, gen, requests, shared, vocab, apiKey, timeout, format };
        command.SetAction(async (parse, cancellation) =>
        {
            if (!Uri.TryCreate(parse.GetValue(url), UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https")) throw new UsageException($"--url must be an http(s) address (got '{parse.GetValue(url)}')");
            if (!baseUri.AbsolutePath.EndsWith('/')) baseUri = new Uri(baseUri + "/");
            var levels = ParseLevels(parse.GetValue(clients)!);
            int p = parse.GetValue(prompt), n = parse.GetValue(gen), r = parse.GetValue(requests), s = parse.GetValue(shared);
            if (p < 1 || n < 1 || r < 1) throw new UsageException("--prompt-tokens, --gen-tokens and --requests must be at least 1");
            if (s < 0 || s > p) throw new UsageException($"--shared-prefix must be 0..{p} (got {s})");
            string fmt = parse.GetValue(format)!;
            if (fmt is not ("md" or "json")) throw new UsageException($"--output must be md or json (got '{fmt}')");
            double seconds = parse.GetValue(timeout);
            if (!(seconds > 0)) throw new UsageException("--timeout must be positive");
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, io.Cancellation);
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = TimeSpan.FromMinutes(10) }) { Timeout = TimeSpan.FromSeconds(seconds) };
            using var progress = new ProgressReporter(io, "serve-bench", "requests");
            int ended = 0, total = levels.Sum() * r;
            var bench = new ServeBenchmark(http, baseUri, parse.GetValue(apiKey))
            {
                PromptTokens = p,
                GenerateTokens = n,
                RequestsPerClient = r,
                SharedPrefix = s,
                RequestEnded = () => progress.Report(Interlocked.Increment(ref ended), total),
            };
            int vocabulary = parse.GetValue(vocab) is > 0 and var v ? v
                : await bench.VocabularyAsync(linked.Token) ?? throw new ArgumentException("the server does not report its vocabulary size in /v1/models; pass --vocab N");
            // One short request first, so no level pays for warm-up.
            if (await bench.RequestAsync([vocabulary / 2], linked.Token) is null) throw new InvalidOperationException($"the server at {baseUri} did not complete a streaming /v1/completions request");
            var results = new List<LoadLevelResult>();
            foreach (int level in levels)
            {
                var result = await bench.RunAsync(level, vocabulary, linked.Token);
                results.Add(result);
                progress.Clear();
                if (fmt == "md") io.Err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{level} clients: {result.TokensPerSecond:F1} tokens/s"));
            }
            if (fmt == "json") WriteJson(io.Out, results, p, n);
            else WriteTable(io.Out, results, p, n);
            if (!results.Any(x => x.Errors > 0)) return 0;
            io.Err.WriteLine($"error: {results.Sum(x => x.Errors)} requests failed; the first: {Files.SafeText.Line(bench.FirstError ?? "unknown")}");
            return 1;
        });
        return command;
    }

    private static int[] ParseLevels(string text)
    {
        var levels = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int c) || c is < 1 or > 1024) throw new UsageException($"--clients must list counts 1..1024 (got '{part}')");
            levels.Add(c);
        }
        return levels.Count > 0 ? levels.ToArray() : throw new UsageException("--clients lists no count");
    }

    private static void WriteTable(TextWriter output, List<LoadLevelResult> results, int prompt, int gen)
    {
        output.WriteLine($"prompt {prompt} tokens, {gen} generated per request");
        output.WriteLine();
        output.WriteLine("| clients | requests | errors | gen tokens/s | TTFT median ms | TTFT p99 ms | ITL median ms | ITL p99 ms |");
        output.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Clients} | {r.Requests} | {r.Errors} | {r.TokensPerSecond:F1} | {LoadLevelResult.Percentile(r.TtftMs, 50):F0} | {LoadLevelResult.Percentile(r.TtftMs, 99):F0} | {LoadLevelResult.Percentile(r.ItlMs, 50):F1} | {LoadLevelResult.Percentile(r.ItlMs, 99):F1} |"));
        }
    }

    private static void WriteJson(TextWriter output, List<LoadLevelResult> results, int prompt, int gen)
    {
        var records = results.Select(r => new Dictionary<string, object>
        {
            ["clients"] = r.Clients,
            ["prompt_tokens"] = prompt,
            ["gen_tokens"] = gen,
            ["requests"] = r.Requests,
            ["errors"] = r.Errors,
            ["generated_tokens"] = r.GeneratedTokens,
            ["seconds"] = Math.Round(r.Seconds, 3),
            ["tokens_per_second"] = Math.Round(r.TokensPerSecond, 3),
            ["ttft_median_ms"] = Math.Round(LoadLevelResult.Percentile(r.TtftMs, 50), 3),
            ["ttft_p99_ms"] = Math.Round(LoadLevelResult.Percentile(r.TtftMs, 99), 3),
            ["itl_median_ms"] = Math.Round(LoadLevelResult.Percentile(r.ItlMs, 50), 3),
            ["itl_p99_ms"] = Math.Round(LoadLevelResult.Percentile(r.ItlMs, 99), 3),
        });
        output.WriteLine(JsonSerializer.Serialize(records));
    }
}
