using System.CommandLine;
using System.Text;
using System.Text.Json;
using SharpInfer.Inference;
using SharpInfer.Tensors;

namespace SharpInfer.Cli.Commands;

/// <summary>
/// <c>sharpinfer logits</c>: per-position logit statistics and a greedy continuation, as JSON in exactly the
/// shape of the llama.cpp reference files in ../shared/reference (our tool for comparing against llama.cpp).
/// </summary>
internal static class LogitsCommand
{
    public static Command Create(CliIO io)
    {
        var common = new CommonOptions(GgmlType.F32);
        var prompt = new Option<string?>("--prompt", "-p") { Description = "one prompt" };
        var promptsFile = new Option<string?>("--prompts-file") { Description = "prompts: a JSON array of strings, a reference file with cases[].prompt, or one prompt per line" };
        var top = new Option<int>("--top") { Description = "top logits listed per position", DefaultValueFactory = _ => 10 };
        var greedy = new Option<int>("--greedy") { Description = "greedy tokens decoded one at a time after each prompt", DefaultValueFactory = _ => 48 };
        var command = new Command("logits", "Print logit statistics and a greedy continuation as JSON") { prompt, promptsFile, top, greedy };
        common.AddTo(command);
        command.SetAction(parse =>
        {
            var prompts = ReadPrompts(parse.GetValue(prompt), parse.GetValue(promptsFile));
            int topK = parse.GetValue(top), greedyCount = parse.GetValue(greedy);
            if (topK < 1) throw new UsageException($"--top must be at least 1 (got {topK})");
            if (greedyCount < 0) throw new UsageException($"--greedy must be 0 or more (got {greedyCount})");
            // The references were computed with an f32 cache: f16 alone would move logits by up to ~0.016.
            var contextOptions = common.ContextOptions(parse, io);
            string modelPath = parse.GetValue(common.Model)!;
            using var model = CommonOptions.LoadModel(modelPath, io, out _);
            using var context = model.CreateContext(contextOptions);

            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                w.WriteStartObject();
                w.WriteString("model", modelPath);
                w.WriteNumber("n_vocab", context.VocabSize);
                w.WriteStartArray("cases");
                foreach (string p in prompts)
                {
                    io.Cancellation.ThrowIfCancellationRequested();
                    WriteCase(w, context, p, topK, greedyCount);
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            io.Out.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
            return 0;
        });
        return command;
    }

    private static List<string> ReadPrompts(string? prompt, string? file)
    {
        if ((prompt is null) == (file is null)) throw new UsageException("give exactly one of -p/--prompt or --prompts-file");
        if (prompt is not null) return [prompt];
        string text = File.ReadAllText(file!);
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Array) return root.EnumerateArray().Select(e => e.GetString() ?? "").ToList();
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("cases", out var cases))
            {
                return cases.EnumerateArray().Select(c => c.GetProperty("prompt").GetString() ?? "").ToList();
            }
            throw new ArgumentException($"{file}: JSON prompts must be an array of strings or an object with cases[].prompt");
        }
        catch (JsonException)
        {
            return text.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
        }
    }

    private static void WriteCase(Utf8JsonWriter w, InferenceContext context, string prompt, int topK, int greedyCount)
    {
        var tokenizer = context.Model.Tokenizer;
        var tokens = tokenizer.Tokenize(prompt, addSpecial: true, parseSpecial: true);
        if (tokens.Length == 0) throw new ArgumentException("a prompt tokenized to nothing");
        if ((long)tokens.Length + greedyCount > context.Kv.Capacity)
        {
            throw new ArgumentException($"prompt of {tokens.Length} tokens plus {greedyCount} greedy tokens exceeds the context of {context.Kv.Capacity}; raise -c");
        }
        context.Kv.Clear();
        var batch = new Batch(tokens.Length);
        for (int i = 0; i < tokens.Length; i++) batch.Add(tokens[i], i, 0, true);
        context.Decode(batch);

        w.WriteStartObject();
        w.WriteString("prompt", prompt);
        w.WriteStartArray("tokens");
        foreach (int t in tokens) w.WriteNumberValue(t);
        w.WriteEndArray();
        w.WriteStartArray("positions");
        for (int i = 0; i < tokens.Length; i++) WritePosition(w, context.GetOutputLogits(i), topK);
        w.WriteEndArray();

        var greedy = new List<int>();
        var margins = new List<double>();
        var logits = context.GetOutputLogits(tokens.Length - 1).ToArray();
        var single = new Batch(1);
        int past = tokens.Length;
        for (int g = 0; g < greedyCount; g++)
        {
            var (best, margin) = Top2(logits);
            greedy.Add(best);
            margins.Add(margin);
            if (tokenizer.IsEndOfGeneration(best) || g == greedyCount - 1) break;
            single.Clear();
            single.Add(best, past++, 0, true);
            context.Decode(single);
            logits = context.GetOutputLogits(0).ToArray();
        }
        w.WriteStartArray("greedy");
        foreach (int t in greedy) w.WriteNumberValue(t);
        w.WriteEndArray();
        // The pieces as generated, concatenated (no leading-space removal): what a streaming client would print.
        var bytes = greedy.SelectMany(t => tokenizer.TokenToPiece(t).ToArray()).ToArray();
        try
        {
            w.WriteString("greedy_text", new UTF8Encoding(false, true).GetString(bytes));
        }
        catch (DecoderFallbackException)
        {
            w.WriteNull("greedy_text");
        }
        w.WriteStartArray("greedy_margin");
        foreach (double m in margins) w.WriteNumberValue(Math.Round(m, 6));
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static (int Best, double Margin) Top2(float[] logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
        float second = float.NegativeInfinity;
        for (int i = 0; i < logits.Length; i++) if (i != best && logits[i] > second) second = logits[i];
        return (best, logits[best] - second);
    }

    private static void WritePosition(Utf8JsonWriter w, ReadOnlySpan<float> logits, int topK)
    {
        int argmax = 0;
        double mean = 0;
        for (int i = 0; i < logits.Length; i++)
        {
            if (logits[i] > logits[argmax]) argmax = i;
            mean += logits[i];
        }
        mean /= logits.Length;
        double variance = 0, sumExp = 0;
        float max = logits[argmax];
        for (int i = 0; i < logits.Length; i++)
        {
            variance += (logits[i] - mean) * (logits[i] - mean);
            sumExp += Math.Exp(logits[i] - max);
        }
        double std = Math.Sqrt(variance / logits.Length);
        double lse = max + Math.Log(sumExp);
        var order = Enumerable.Range(0, logits.Length).ToArray();
        var copy = logits.ToArray();
        Array.Sort(order, (a, b) => copy[b] != copy[a] ? copy[b].CompareTo(copy[a]) : a.CompareTo(b));
        w.WriteStartObject();
        w.WriteNumber("argmax", argmax);
        w.WriteNumber("logsumexp", Math.Round(lse, 6));
        w.WriteNumber("std", Math.Round(std, 6));
        w.WriteStartArray("top");
        for (int k = 0; k < Math.Min(topK, logits.Length); k++)
        {
            w.WriteStartArray();
            w.WriteNumberValue(order[k]);
            w.WriteNumberValue(Math.Round(copy[order[k]], 6));
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
