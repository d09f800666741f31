using System.CommandLine;
using System.Diagnostics;
using SharpInfer.Models;

namespace SharpInfer.Cli.Commands;

/// <summary><c>sharpinfer synth</c>: write a random-weight model of a real shape, for benchmarks.</summary>
internal static class SynthCommand
{
    public static Command Create(CliIO io)
    {
        var shape = new Option<string>("--shape") { Description = "shape: " + string.Join(", ", ModelShape.Known.Select(s => s.Name)), Required = true };
        var type = new Option<string>("--type") { Description = "type or mix: " + string.Join(", ", QuantizationMix.Names), Required = true };
        var output = new Option<string>("--output", "-o") { Description = "GGUF file to write (only a GGUF file there is replaced)", Required = true };
        var vocab = new Option<string?>("--vocab-from") { Description = "vocab GGUF whose tokenizer to copy (default: ../shared/vocab/ggml-vocab-llama-spm.gguf, or -bpe for llama-3.2)" };
        var seed = new Option<long>("--seed") { Description = "random seed", DefaultValueFactory = _ => 1 };
        var command = new Command("synth", "Write a random-weight model of a real shape") { shape, type, output, vocab, seed };
        command.SetAction(parse =>
        {
            ModelShape s;
            QuantizationMix mix;
            try
            {
                s = ModelShape.Find(parse.GetValue(shape)!);
                mix = QuantizationMix.Parse(parse.GetValue(type)!);
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }
            string vocabPath = parse.GetValue(vocab) ?? Path.Combine("..", "shared", "vocab", s.Name.StartsWith("llama-3", StringComparison.Ordinal) ? "ggml-vocab-llama-bpe.gguf" : "ggml-vocab-llama-spm.gguf");
            if (!File.Exists(vocabPath)) throw new FileNotFoundException($"vocab file not found: {vocabPath} (pass --vocab-from)", vocabPath);
            string path = parse.GetValue(output)!;
            var clock = Stopwatch.StartNew();
            var fallbacks = new FallbackLog();
            using var progress = new ProgressReporter(io, "synth", "tensors");
            long parameters = ModelSynthesizer.Write(s, mix, vocabPath, path, (ulong)parse.GetValue(seed), fallbacks, io.Cancellation, progress.Report);
            progress.Clear();
            foreach (string line in fallbacks.Lines) io.Err.WriteLine($"warning: {line}");
            long bytes = new FileInfo(path).Length;
            io.Out.WriteLine($"wrote {path}: {s.Name} {mix.Name}, {parameters / 1e9:F2} B parameters, {bytes / 1048576.0:F1} MiB in {clock.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return command;
    }
}
