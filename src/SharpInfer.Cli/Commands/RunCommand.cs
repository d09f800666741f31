using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Sampling;
using SharpInfer.Tensors;

namespace SharpInfer.Cli.Commands;

/// <summary><c>sharpinfer run</c>: generate a continuation of a prompt, streaming it to stdout.</summary>
internal static class RunCommand
{
    public static Command Create(CliIO io)
    {
        var common = new CommonOptions();
        var prompt = new Option<string?>("--prompt", "-p") { Description = "prompt text" };
        var file = new Option<string?>("--file", "-f") { Description = "read the prompt from a UTF-8 file" };
        var tokens = new Option<int>("--n-predict", "-n") { Description = "tokens to generate (-1: until end of text or a full context)", DefaultValueFactory = _ => 256 };
        var temp = new Option<float>("--temp") { Description = "temperature (0: greedy, the default)", DefaultValueFactory = _ => 0f };
        var topK = new Option<int>("--top-k") { Description = "top-k (0: off)", DefaultValueFactory = _ => 40 };
        var topP = new Option<float>("--top-p") { Description = "top-p (1: off)", DefaultValueFactory = _ => 0.95f };
        var minP = new Option<float>("--min-p") { Description = "min-p (0: off)", DefaultValueFactory = _ => 0.05f };
        var typical = new Option<float>("--typical") { Description = "locally typical sampling (1: off)", DefaultValueFactory = _ => 1f };
        var repeat = new Option<float>("--repeat-penalty") { Description = "repetition penalty (1: off)", DefaultValueFactory = _ => 1f };
        var repeatLastN = new Option<int>("--repeat-last-n") { Description = "tokens the penalties look back over (-1: whole context)", DefaultValueFactory = _ => 64 };
        var frequency = new Option<float>("--frequency-penalty") { Description = "frequency penalty (0: off)" };
        var presence = new Option<float>("--presence-penalty") { Description = "presence penalty (0: off)" };
        var seed = new Option<long>("--seed", "-s") { Description = "random seed (-1: random)", DefaultValueFactory = _ => -1 };
        var stop = new Option<string[]>("--stop") { Description = "stop when this text appears (repeatable)", AllowMultipleArgumentsPerToken = false };
        var json = new Option<bool>("--json") { Description = "print one JSON object with tokens, text, stop reason and timings" };
        var contextShift = new Option<bool>("--context-shift") { Description = "when the context is full, discard older tokens and continue" };
        var keep = new Option<int>("--keep") { Description = "tokens from the start kept by a context shift (BOS included; -1: the whole prompt)" };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "do not stop at end-of-generation tokens" };
        var parallel = new Option<int>("--parallel", "-np") { Description = "continuations of the prompt decoded together (prefix shared, seed + i each)", DefaultValueFactory = _ => 1 };
        var unified = new Option<bool>("--kv-unified") { Description = "one KV pool for all sequences (false: one pool each)", DefaultValueFactory = _ => true };
        var promptCache = new Option<string?>("--prompt-cache") { Description = "file to reuse the evaluated prompt from (and to save it to)" };
        var command = new Command("run", "Generate text from a prompt") { prompt, file, tokens, temp, topK, topP, minP, typical, repeat, repeatLastN, frequency, presence, seed, stop, json, contextShift, keep, ignoreEos, parallel, unified, promptCache };
        common.AddTo(command);
        command.SetAction(parse =>
        {
            string text = CommonOptions.ReadPrompt(parse.GetValue(prompt), parse.GetValue(file));
            long seedValue = parse.GetValue(seed);
            var sampling = new SamplingOptions
            {
                Temperature = parse.GetValue(temp),
                TopK = parse.GetValue(topK),
                TopP = parse.GetValue(topP),
                MinP = parse.GetValue(minP),
                TypicalP = parse.GetValue(typical),
                RepeatPenalty = parse.GetValue(repeat),
                PenaltyLastN = parse.GetValue(repeatLastN),
                FrequencyPenalty = parse.GetValue(frequency),
                PresencePenalty = parse.GetValue(presence),
                Seed = seedValue < 0 ? null : (ulong)seedValue,
            };
            sampling.Validate();
            int n = parse.GetValue(tokens);
            if (n < -1) throw new ArgumentException($"-n must be -1 or more (got {n})");
            int sequences = parse.GetValue(parallel);
            if (sequences is < 1 or > 256) throw new ArgumentException($"--parallel must be 1..256 (got {sequences})");
            var contextOptions = common.ContextOptions(parse, GgmlType.F16, sequences, parse.GetValue(unified));

            using var model = CommonOptions.LoadModel(parse.GetValue(common.Model)!, io, out double loadMs);
            int promptTokens = model.Tokenizer.Tokenize(text, true, true).Length;
            int contextSize = contextOptions.ContextSize > 0 ? contextOptions.ContextSize : Math.Min(model.Spec.TrainingContext, 4096);
            if (promptTokens > contextSize)
            {
                throw new ArgumentException($"the prompt is {promptTokens} tokens but the context holds {contextSize}; raise -c or shorten the prompt");
            }
            using var context = model.CreateContext(contextOptions);
            bool asJson = parse.GetValue(json);
            if (!asJson) io.Err.WriteLine(context.Kv.Describe());
            var generator = new Generator(context);
            generator.Warning += w => io.Err.WriteLine($"warning: {w}");
            generator.ContextShifted += (kept, discarded) =>
            {
                if (!asJson) io.Err.WriteLine($"context shift: kept {kept}, discarded {discarded}");
            };
            var options = new GenerationOptions
            {
                MaxTokens = n,
                Sampling = sampling,
                StopStrings = parse.GetValue(stop) ?? [],
                ContextShift = parse.GetValue(contextShift),
                Keep = parse.GetValue(keep),
                StopAtEndOfGeneration = !parse.GetValue(ignoreEos),
                PromptCachePath = parse.GetValue(promptCache),
            };
            if (sequences > 1)
            {
                if (options.ContextShift) throw new ArgumentException("--context-shift works with one sequence only");
                if (options.PromptCachePath is not null) throw new ArgumentException("--prompt-cache works with one sequence only");
                var results = generator.GenerateParallel(text, sequences, options, null, io.Cancellation);
                WriteParallel(io, results, loadMs, asJson, context.Experts);
                if (!asJson) CommonOptions.NoteSmallPages(model, io);
                return 0;
            }
            var result = generator.Generate(text, options, asJson ? null : piece => io.Out.Write(piece), io.Cancellation);
            if (!asJson && result.PromptTokensReused > 0) io.Err.WriteLine($"prompt cache: reused {result.PromptTokensReused} of {result.PromptTokens.Length} prompt tokens");
            var t = result.Timings;
            if (asJson)
            {
                WriteJson(io.Out, result, loadMs, context.Experts);
            }
            else
            {
                io.Out.WriteLine();
                if (result.StopReason == StopReason.ContextFull)
                {
                    io.Err.WriteLine($"stopped: the context of {context.Kv.Capacity} tokens is full (pass --context-shift to keep going, or raise -c)");
                }
                io.Err.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"load: {loadMs:F0} ms | prompt: {t.PromptTokens} tokens in {t.PromptMs:F1} ms ({t.PromptTokensPerSecond:F1} t/s) | generation: {t.GeneratedTokens} tokens in {t.GenerationMs:F1} ms ({t.GenerationTokensPerSecond:F1} t/s) | stop: {Name(result.StopReason)} | seed: {result.Seed}"));
                CommonOptions.NoteSmallPages(model, io);
            }
            return 0;
        });
        return command;
    }

    /// <summary>
    /// For a mixture-of-experts model: per expert layer how many distinct routed experts the run touched (what an
    /// expert cache or offload would have to hold), and the routed experts' bytes its passes read.
    /// </summary>
    private static Dictionary<string, object>? ExpertsJson(ExpertUsage? usage)
    {
        if (usage is null) return null;
        var layers = Enumerable.Range(0, usage.LayerCount).Where(l => usage.ExpertCount(l) > 0).Select(l => new Dictionary<string, int>
        {
            ["layer"] = l,
            ["distinct"] = usage.DistinctExperts(l),
            ["of"] = usage.ExpertCount(l),
        }).ToList();
        return new Dictionary<string, object> { ["layers"] = layers, ["routed_bytes_read"] = usage.RoutedBytesRead };
    }

    private static void WriteParallel(CliIO io, GenerationResult[] results, double loadMs, bool asJson, ExpertUsage? experts)
    {
        if (asJson)
        {
            var payload = results.Select((r, i) => new Dictionary<string, object?>
            {
                ["sequence"] = i,
                ["generated_tokens"] = r.GeneratedTokens,
                ["text"] = r.Text,
                ["stop_reason"] = Name(r.StopReason),
                ["seed"] = r.Seed,
            }).ToList();
            var t0 = results[0].Timings;
            int total = results.Sum(r => r.GeneratedTokens.Length);
            var document = new Dictionary<string, object?>
            {
                ["prompt_tokens"] = results[0].PromptTokens,
                ["sequences"] = payload,
                ["timings"] = new Dictionary<string, double>
                {
                    ["load_ms"] = Math.Round(loadMs, 3),
                    ["prompt_ms"] = Math.Round(t0.PromptMs, 3),
                    ["gen_ms"] = Math.Round(t0.GenerationMs, 3),
                    ["gen_tps"] = t0.GenerationMs > 0 ? Math.Round(total / (t0.GenerationMs / 1000), 3) : 0,
                },
            };
            if (ExpertsJson(experts) is { } e) document["experts"] = e;
            io.Out.WriteLine(JsonSerializer.Serialize(document, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
            return;
        }
        for (int i = 0; i < results.Length; i++)
        {
            io.Out.WriteLine($"[{i}] {results[i].Text}");
        }
        var t = results[0].Timings;
        int generated = results.Sum(r => r.GeneratedTokens.Length);
        io.Err.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"load: {loadMs:F0} ms | prompt: {t.PromptTokens} tokens in {t.PromptMs:F1} ms | generation: {generated} tokens over {results.Length} sequences in {t.GenerationMs:F1} ms ({generated / Math.Max(1e-9, t.GenerationMs / 1000):F1} t/s aggregate)"));
    }

    public static string Name(StopReason reason) => reason switch
    {
        StopReason.EndOfGeneration => "end_of_generation",
        StopReason.StopString => "stop_string",
        StopReason.TokenLimit => "token_limit",
        StopReason.ContextFull => "context_full",
        _ => "cancelled",
    };

    private static void WriteJson(TextWriter output, GenerationResult result, double loadMs, ExpertUsage? experts)
    {
        var t = result.Timings;
        var payload = new Dictionary<string, object?>
        {
            ["prompt_tokens"] = result.PromptTokens,
            ["generated_tokens"] = result.GeneratedTokens,
            ["text"] = result.Text,
            ["stop_reason"] = Name(result.StopReason),
            ["context_shifts"] = result.ContextShifts,
            ["seed"] = result.Seed,
            ["timings"] = new Dictionary<string, double>
            {
                ["load_ms"] = Math.Round(loadMs, 3),
                ["prompt_ms"] = Math.Round(t.PromptMs, 3),
                ["prompt_tps"] = Math.Round(t.PromptTokensPerSecond, 3),
                ["gen_ms"] = Math.Round(t.GenerationMs, 3),
                ["gen_tps"] = Math.Round(t.GenerationTokensPerSecond, 3),
            },
        };
        if (ExpertsJson(experts) is { } e) payload["experts"] = e;
        output.WriteLine(JsonSerializer.Serialize(payload, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }
}
