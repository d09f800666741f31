using System.CommandLine;
using SharpInfer.Models;

namespace SharpInfer.Cli.Commands;

/// <summary><c>sharpinfer quantize IN OUT TYPE</c>: convert a model's weight matrices to another type or K-quant mix.</summary>
internal static class QuantizeCommand
{
    public static Command Create(CliIO io)
    {
        var input = new Argument<string>("IN") { Description = "source GGUF" };
        var output = new Argument<string>("OUT") { Description = "destination GGUF (only a GGUF file there is replaced)" };
        var type = new Argument<string>("TYPE") { Description = "target type or mix: " + string.Join(", ", QuantizationMix.Names) };
        var requantize = new Option<bool>("--allow-requantize") { Description = "allow converting tensors that are already quantized to another quantized type" };
        var keep = new Option<bool>("--keep-unquantizable") { Description = "leave tensors whose rows fit neither the type's blocks nor a fallback type unconverted instead of failing" };
        var command = new Command("quantize", "Quantize a GGUF model") { input, output, type, requantize, keep };
        command.SetAction(parse =>
        {
            QuantizationMix mix;
            try
            {
                mix = QuantizationMix.Parse(parse.GetValue(type)!);
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message);
            }
            var started = System.Diagnostics.Stopwatch.StartNew();
            using var progress = new ProgressReporter(io, "quantize", "tensors");
            var report = ModelQuantizer.Quantize(parse.GetValue(input)!, parse.GetValue(output)!, new QuantizeOptions
            {
                Target = mix.BaseType,
                Mix = mix,
                AllowRequantize = parse.GetValue(requantize),
                KeepUnquantizable = parse.GetValue(keep),
            }, io.Cancellation, progress.Report);
            progress.Clear();
            foreach (var warning in report.Warnings) io.Err.WriteLine($"warning: {warning}");
            io.Out.WriteLine($"quantized {report.Quantized} tensors to {mix.Name}, kept {report.Kept}; {report.InputBytes / 1048576.0:F2} MiB -> {report.OutputBytes / 1048576.0:F2} MiB in {started.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return command;
    }
}
