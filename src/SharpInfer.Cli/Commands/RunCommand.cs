using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpInfer.Files;
using SharpInfer.Inference;
using SharpInfer.KvCache;
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
        var sampler = new SamplingOptionSet();
        var stop = new Option<string[]>("--stop") { Description = "stop when this text appears (repeatable)", AllowMultipleArgumentsPerToken = false };
        var json = new Option<bool>("--json") { Description = "print one JSON object with tokens, text, stop reason and timings" };
        var contextShift = new Option<bool>("--context-shift") { Description = "when the context is full, discard older tokens and continue" };
        var keep = new Option<int>("--keep") { Description = "tokens from the start kept by a context shift (BOS included; -1: the whole prompt)" };
        var ignoreEos = new Option<bool>("--ignore-eos") { Description = "do not stop at end-of-generation tokens" };
        var parallel = new Option<int>("--parallel", "-np") { Description = "continuations of the prompt decoded together (prefix shared, seed + i each)", DefaultValueFactory = _ => 1 };
        var unified = new Option<bool>("--kv-unified") { Description = "one KV pool for all sequences (false: one pool each)", DefaultValueFactory = _ => true };
        var promptCache = new Option<string?>("--prompt-cache") { Description = "file to reuse the evaluated prompt from (and to save it to)" };
        var command = new Command("run", "Generate text from a prompt") { prompt, file, tokens, stop, json, contextShift, keep, ignoreEos, parallel, unified, promptCache };
        sampler.AddTo(command);
        common.AddTo(command);
        command.SetAction(parse =>
        {
            string text = CommonOptions.ReadPrompt(parse.GetValue(prompt), parse.GetValue(file));
            var sampling = sampler.Read(parse);
            int n = parse.GetValue(tokens);
            if (n < -1) throw new UsageException($"-n must be -1 or more (got {n})");
            int sequences = parse.GetValue(parallel);
            if (sequences is < 1 or > 256) throw new UsageException($"--parallel must be 1..256 (got {sequences})");
            if (sequences > 1 && parse.GetValue(contextShift)) throw new UsageException("--context-shift works with one sequence only");
            if (sequences > 1 && parse.GetValue(promptCache) is not null) throw new UsageException("--prompt-cache works with one sequence only");
            var contextOptions = common.ContextOptions(parse, io, sequences, parse.GetValue(unified));

            string modelPath = CommonOptions.ResolveModel(parse.GetValue(common.Model)!);
            // A prompt cache may only replace a state file of ours (or nothing): refused before anything is loaded.
            if (parse.GetValue(promptCache) is { } cachePath) OutputFile.CheckTarget(cachePath, KvState.FileKind, modelPath);
            using var model = CommonOptions.LoadModel(modelPath, io, out double loadMs);
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
            using var promptProgress = new ProgressReporter(io, "prompt", "tokens");
            if (promptTokens > contextOptions.MicroBatchSize) generator.PromptProgress = (done, total) =>
            {
                promptProgress.Report(done, total);
                if (done == total) promptProgress.Clear();
            };
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
            if (options.ContextShift && !context.Kv.CanShift)
            {
                throw new ArgumentException($"--context-shift: the KV cache of this {model.Architecture} model cannot be shifted (its keys carry no rotation to redo)");
            }
            if (sequences > 1)
            {
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
