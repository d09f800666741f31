using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpInfer.Cli.Plots;
using SharpInfer.Files;
using SharpInfer.Inference;
using SharpInfer.Tensors;

namespace SharpInfer.Cli.Commands;

/// <summary><c>sharpinfer kv-quality</c>: bytes per token and accuracy cost of every KV cache type on a text.</summary>
internal static class KvQualityCommand
{
    public static Command Create(CliIO io)
    {
        var model = new Option<string>("--model", "-m") { Description = "GGUF model", Required = true };
        var prompt = new Option<string?>("--prompt", "-p") { Description = "text to evaluate (default: a fixed English paragraph)" };
        var file = new Option<string?>("--file", "-f") { Description = "read the text from a UTF-8 file" };
        var reference = new Option<string>("--reference") { Description = "reference cache type", DefaultValueFactory = _ => "f16" };
        var threads = new Option<int>("--threads", "-t") { Description = "compute threads (default: physical cores)" };
        var json = new Option<bool>("--json") { Description = "print JSON" };
        var mla = CommonOptions.MlaOption();
        var plot = new Option<string?>("--plot") { Description = "also draw the mean KL divergence per cache type as an SVG chart to this file" };
        var command = new Command("kv-quality", "Compare KV cache storage types: bytes per token, KL divergence and top-1 agreement against a reference type") { model, prompt, file, reference, threads, mla, json, plot };
        command.SetAction(parse =>
        {
            string? p = parse.GetValue(prompt), f = parse.GetValue(file);
            if (p is not null && f is not null) throw new UsageException("give at most one of -p and -f");
            string text = p ?? (f is not null ? File.ReadAllText(f) : KvQuality.DefaultText);
            var refType = CommonOptions.ParseCacheType(parse.GetValue(reference), GgmlType.F16, "--reference");
            int t = CommonOptions.CheckThreads(parse.GetValue(threads), io);
            var mode = CommonOptions.ParseMla(parse.GetValue(mla));
            string modelPath = CommonOptions.ResolveModel(parse.GetValue(model)!);
            string? plotPath = parse.GetValue(plot);
            if (plotPath is not null) OutputFile.CheckTarget(plotPath, BarChart.Kind, modelPath, f);
            using var m = CommonOptions.LoadModel(modelPath, io, out _);
            var tokens = m.Tokenizer.Tokenize(text);
            if (!KvQuality.UsableTypes(m, mode).Contains(refType))
            {
                throw new ArgumentException($"--reference {refType.ToString().ToLowerInvariant()} does not fit this model's cache rows");
            }
            using var progress = new ProgressReporter(io, "kv-quality", "positions");
            var rows = KvQuality.Measure(m, tokens, refType, KvQuality.UsableTypes(m, mode), t, progress.Report, io.Cancellation, mode);
            progress.Clear();
            if (plotPath is not null)
            {
                new BarChart
                {
                    Title = $"KV cache types: KL divergence of the next-token distribution against {refType.ToString().ToLowerInvariant()} ({tokens.Length} tokens)",
                    YLabel = "mean KL divergence",
                    LogScale = true,
                    Bars = rows.Select(r => new Bar(r.Type.ToString().ToLowerInvariant(), r.MeanKl)).ToList(),
                }.Save(plotPath, io.Cancellation, modelPath, f);
            }
            if (parse.GetValue(json))
            {
                io.Out.WriteLine(JsonSerializer.Serialize(rows.Select(r => new Dictionary<string, object>
                {
                    ["type"] = r.Type.ToString().ToLowerInvariant(),
                    ["bytes_per_token"] = r.BytesPerToken,
                    ["mean_kl"] = r.MeanKl,
                    ["max_kl"] = r.MaxKl,
                    ["top1_agreement"] = r.Top1Agreement,
                })));
                return 0;
            }
            io.Out.WriteLine($"{tokens.Length} tokens, reference {refType.ToString().ToLowerInvariant()}");
            io.Out.WriteLine("| cache type | bytes per token | mean KL | max KL | top-1 agreement |");
            io.Out.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var r in rows)
            {
                io.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Type.ToString().ToLowerInvariant()} | {r.BytesPerToken} | {r.MeanKl:E2} | {r.MaxKl:E2} | {r.Top1Agreement * 100:F1} % |"));
            }
            return 0;
        });
        return command;
    }
}
