using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SharpInfer.Cli.Plots;
using SharpInfer.Files;
using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Sampling;
using SharpInfer.Tensors;

namespace SharpInfer.Cli.Commands;

/// <summary>
/// <c>sharpinfer bench</c>: throughput with llama-bench's semantics. ppN evaluates N prompt tokens in micro-batches
/// (tokens/s); tgN generates N tokens one at a time; --depth D first fills D tokens so tg measures attention over a
/// long cache; --parallel P generates with P sequences per step (aggregate tokens/s). Each test runs once to warm up,
/// then -r times; the mean and standard deviation are reported, with the weight bandwidth it implies.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliIO io)
    {
        var model = new Option<string>("--model", "-m") { Description = "GGUF model", Required = true };
        var prompt = new Option<int>("--n-prompt", "-p") { Description = "prompt tokens of the pp test (0: skip)", DefaultValueFactory = _ => 512 };
        var gen = new Option<int>("--n-gen", "-n") { Description = "tokens of the tg test (0: skip)", DefaultValueFactory = _ => 128 };
        var reps = new Option<int>("--repetitions", "-r") { Description = "measured repetitions of each test", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads", "-t") { Description = "threads (default: physical cores)" };
        var parallel = new Option<int>("--parallel", "-np") { Description = "sequences generated together in the tg test", DefaultValueFactory = _ => 1 };
        var depth = new Option<int>("--depth", "-d") { Description = "tokens already in the cache when a test starts", DefaultValueFactory = _ => 0 };
        var ubatch = new Option<int>("--ubatch-size", "-ub") { Description = "micro-batch size", DefaultValueFactory = _ => 512 };
        var typeK = new Option<string?>("--cache-type-k", "-ctk") { Description = "K cache type (default f16)" };
        var typeV = new Option<string?>("--cache-type-v", "-ctv") { Description = "V cache type (default f16)" };
        var format = new Option<string>("--output", "-o") { Description = "md or json", DefaultValueFactory = _ => "md" };
        var phases = new Option<bool>("--phases") { Description = "after the table, the tg test's time per step in each forward-pass phase (to stderr with -o json)" };
        var mla = CommonOptions.MlaOption();
        var plot = new Option<string?>("--plot") { Description = "also draw tokens/s per test (± standard deviation) as an SVG chart to this file" };
        var command = new Command("bench", "Measure prompt and generation throughput (like llama-bench)") { model, prompt, gen, reps, threads, parallel, depth, ubatch, typeK, typeV, mla, format, phases, plot };
        command.SetAction(parse =>
        {
            int p = parse.GetValue(prompt), n = parse.GetValue(gen), r = parse.GetValue(reps), np = parse.GetValue(parallel), d = parse.GetValue(depth);
            string fmt = parse.GetValue(format)!;
            if (fmt is not ("md" or "json")) throw new UsageException($"--output must be md or json (got '{fmt}')");
            if (p < 0 || n < 0 || d < 0) throw new UsageException("-p, -n and --depth must not be negative");
            if (r < 1) throw new UsageException($"-r must be at least 1 (got {r})");
            if (np is < 1 or > 256) throw new UsageException($"--parallel must be 1..256 (got {np})");
            if (parse.GetValue(phases) && n == 0) throw new UsageException("--phases needs a tg test (-n > 0)");
            int t = CommonOptions.CheckThreads(parse.GetValue(threads), io);
            // In 64 bits: -p, -n and --depth near int.MaxValue would otherwise wrap to a small or negative context.
            long cells = np > 1 ? d + (long)np * (n + 8L) + 8 : d + (long)Math.Max(p, n) + 8;
            if (cells > SharpInfer.KvCache.KvCacheGroup.MaxCells)
            {
                throw new UsageException($"--depth, -p, -n and --parallel ask for a context of {cells} cells; at most {SharpInfer.KvCache.KvCacheGroup.MaxCells}");
            }
            string modelPath = CommonOptions.ResolveModel(parse.GetValue(model)!);
            string? plotPath = parse.GetValue(plot);
            if (plotPath is not null) OutputFile.CheckTarget(plotPath, BarChart.Kind, modelPath);
            using var m = CommonOptions.LoadModel(modelPath, io, out _);
            var options = new ContextOptions
            {
                ContextSize = (int)cells,
                Threads = t,
                MicroBatchSize = parse.GetValue(ubatch),
                MaxSequences = np,
                TypeK = CommonOptions.ParseCacheType(parse.GetValue(typeK), GgmlType.F16, "--cache-type-k"),
                TypeV = CommonOptions.ParseCacheType(parse.GetValue(typeV), GgmlType.F16, "--cache-type-v"),
                Mla = CommonOptions.ParseMla(parse.GetValue(mla)),
            };
            using var context = m.CreateContext(options);
            using var progress = new ProgressReporter(io, "bench", "runs");
            int runs = 0, allRuns = ((p > 0 ? 1 : 0) + (n > 0 ? 1 : 0)) * (r + 1);
            Action ran = () => progress.Report(++runs, allRuns);
            var rows = new List<Row>();
            string suffix = d > 0 ? $" @ d{d}" : string.Empty;
            if (p > 0) rows.Add(Measure(m, context, $"pp{p}{suffix}", r, () => Prompt(context, p, d), p, 1, io.Cancellation, ran));
            var phaseTicks = new long[InferenceContext.PhaseNames.Count];
            long steps = 0;
            if (n > 0)
            {
                string name = np > 1 ? $"tg{n} x{np}{suffix}" : $"tg{n}{suffix}";
                rows.Add(Measure(m, context, name, r, () => Generate(context, n, d, np, phaseTicks, ref steps), n * np, n, io.Cancellation, ran,
                    warmedUp: () => { Array.Clear(phaseTicks); steps = 0; }));
            }
            progress.Clear();
            Write(io.Out, m, context.Pool.ThreadCount, rows, fmt);
            if (plotPath is not null)
            {
                new BarChart
                {
                    Title = $"{Label(m)}, {context.Pool.ThreadCount} thread{(context.Pool.ThreadCount == 1 ? "" : "s")}: tokens per second",
                    YLabel = "tokens/s",
                    Bars = rows.Select(row => new Bar(row.Test, row.Mean, row.StdDev)).ToList(),
                }.Save(plotPath, io.Cancellation, modelPath);
            }
            CommonOptions.NoteSmallPages(m, io);
            if (parse.GetValue(phases))
            {
                WritePhases(fmt == "json" ? io.Err : io.Out, phaseTicks, steps);
            }
            return 0;
        });
        return command;
    }

    private sealed record Row(string Test, double Mean, double StdDev, double GigabytesPerSecond);

    /// <summary>A timed run: its seconds and the routed experts' bytes its passes read.</summary>
    private readonly record struct Timed(double Seconds, long ExpertBytes);

    private static Row Measure(Model model, InferenceContext context, string test, int repetitions, Func<Timed> run, int tokens, int weightPasses,
        CancellationToken cancellation, Action ran, Action? warmedUp = null)
    {
        run();
        ran();
        warmedUp?.Invoke();
        var rates = new List<double>();
        long expertBytes = 0;
        for (int i = 0; i < repetitions; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            var timed = run();
            ran();
            expertBytes += timed.ExpertBytes;
            rates.Add(tokens / timed.Seconds);
        }
        double mean = rates.Average();
        double sd = rates.Count > 1 ? Math.Sqrt(rates.Sum(x => (x - mean) * (x - mean)) / (rates.Count - 1)) : 0;
        // A pass over the weights (a decode step; a prefill counts as one) reads all but the routed experts, and of
        // those the ones it chose, as the context counted them: a mixture of experts is measured by its active weights.
        int passes = repetitions * weightPasses;
        double bytesPerPass = model.File.TensorBytes - model.Network.RoutedExpertBytes + (double)expertBytes / passes;
        double passesPerSecond = mean / tokens * weightPasses;
        return new Row(test, mean, sd, bytesPerPass * passesPerSecond / 1e9);
    }

    private static long ExpertBytes(InferenceContext context) => context.Experts?.RoutedBytesRead ?? 0;

    private static int[] RandomTokens(int count, int vocab, ulong seed)
    {
        var rng = new Xoshiro256(seed);
        var tokens = new int[count];
        for (int i = 0; i < count; i++) tokens[i] = (int)(rng.NextUInt64() % (ulong)vocab);
        return tokens;
    }

    private static void Fill(InferenceContext context, int depth)
    {
        context.Kv.Clear();
        if (depth == 0) return;
        var tokens = RandomTokens(depth, context.VocabSize, 7);
        var batch = new Batch(Math.Min(depth, 2048));
        for (int start = 0; start < depth; start += batch.Capacity)
        {
            batch.Clear();
            for (int i = start; i < Math.Min(depth, start + batch.Capacity); i++) batch.Add(tokens[i], i, 0, i == depth - 1);
            context.Decode(batch);
        }
    }

    private static Timed Prompt(InferenceContext context, int count, int depth)
    {
        Fill(context, depth);
        var tokens = RandomTokens(count, context.VocabSize, 11);
        var batch = new Batch(count);
        for (int i = 0; i < count; i++) batch.Add(tokens[i], depth + i, 0, i == count - 1);
        long expertBytes = ExpertBytes(context);
        var clock = Stopwatch.StartNew();
        context.Decode(batch);
        return new Timed(clock.Elapsed.TotalSeconds, ExpertBytes(context) - expertBytes);
    }

    private static Timed Generate(InferenceContext context, int count, int depth, int sequences, long[] phaseTicks, ref long steps)
    {
        Fill(context, depth);
        for (int s = 1; s < sequences; s++) context.Kv.SeqCopy(0, s, -1, -1);
        var tokens = RandomTokens(count * sequences, context.VocabSize, 13);
        var batch = new Batch(sequences);
        context.ResetPhaseTicks();
        long expertBytes = ExpertBytes(context);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < count; i++)
        {
            batch.Clear();
            for (int s = 0; s < sequences; s++) batch.Add(tokens[i * sequences + s], depth + i, s, true);
            context.Decode(batch);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        var ticks = context.PhaseTicks;
        for (int p = 0; p < phaseTicks.Length; p++) phaseTicks[p] += ticks[p];
        steps += count;
        return new Timed(seconds, ExpertBytes(context) - expertBytes);
    }

    /// <summary>Milliseconds per generated step in each phase of the forward pass, over the measured tg runs.</summary>
    private static void WritePhases(TextWriter o, long[] phaseTicks, long steps)
    {
        long total = Math.Max(1, phaseTicks.Sum());
        o.WriteLine();
        o.WriteLine("| phase | ms/step | share |");
        o.WriteLine("| --- | ---: | ---: |");
        for (int p = 0; p < phaseTicks.Length; p++)
        {
            if (phaseTicks[p] == 0) continue; // phases the model has no part for (experts in a dense model, …)
            double ms = phaseTicks[p] * 1000.0 / Stopwatch.Frequency / Math.Max(1, steps);
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {InferenceContext.PhaseNames[p]} | {ms:F3} | {100.0 * phaseTicks[p] / total:F1} % |"));
        }
    }

    private static void Write(TextWriter o, Model model, int threads, List<Row> rows, string format)
    {
        string type = TypeName(model);
        long size = model.File.TensorBytes;
        long parameters = model.File.ElementCount;
        string label = Label(model);
        if (format == "json")
        {
            o.WriteLine(JsonSerializer.Serialize(rows.Select(r => new Dictionary<string, object>
            {
                ["model"] = label,
                ["type"] = type,
                ["size_bytes"] = size,
                ["params"] = parameters,
                ["threads"] = threads,
                ["test"] = r.Test,
                ["avg_ts"] = Math.Round(r.Mean, 3),
                ["stddev_ts"] = Math.Round(r.StdDev, 3),
                ["gbps"] = Math.Round(r.GigabytesPerSecond, 3),
            }), new JsonSerializerOptions { WriteIndented = true }));
            return;
        }
        o.WriteLine("| model | size | params | backend | threads | test | t/s | GB/s |");
        o.WriteLine("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {size / 1048576.0:F2} MiB | {parameters / 1e9:F2} B | CPU (SharpInfer) | {threads} | {r.Test} | {r.Mean:F2} ± {r.StdDev:F2} | {r.GigabytesPerSecond:F1} |"));
        }
    }

    /// <summary>The weight type holding most bytes (a synthetic model's mix name from its general.name).</summary>
    private static string TypeName(Model model)
    {
        var types = model.File.Tensors.Where(t => t.Rank == 2).GroupBy(t => t.Type).OrderByDescending(g => g.Sum(t => t.ByteSize)).Select(g => g.Key.ToString()).ToList();
        return model.File.Metadata.TryGetString("general.name") is { } name && name.StartsWith("synthetic ", StringComparison.Ordinal)
            ? name.Split(' ').Last()
            : types.FirstOrDefault() ?? "?";
    }

    /// <summary>llama-bench's model column: architecture, parameters, type.</summary>
    private static string Label(Model model) => $"{model.Architecture} {ParamsLabel(model.File.ElementCount)} {TypeName(model)}";

    private static string ParamsLabel(long parameters) =>
        parameters >= 1_000_000_000 ? $"{Math.Round(parameters / 1e9, 1).ToString(CultureInfo.InvariantCulture)}B" : $"{Math.Round(parameters / 1e6).ToString(CultureInfo.InvariantCulture)}M";
}
