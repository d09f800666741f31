using System.CommandLine;
using SharpInfer.Models;
using SharpInfer.Tensors;

namespace SharpInfer.Cli.Commands;

/// <summary><c>sharpinfer quantize IN OUT TYPE</c>: convert a model's weight matrices to another type.</summary>
internal static class QuantizeCommand
{
    public static Command Create(CliIO io)
    {
        var input = new Argument<string>("IN") { Description = "source GGUF (F32, F16 or BF16 weights)" };
        var output = new Argument<string>("OUT") { Description = "destination GGUF" };
        var type = new Argument<string>("TYPE") { Description = "target type: " + string.Join(", ", ModelQuantizer.SupportedTargets) };
        var requantize = new Option<bool>("--allow-requantize") { Description = "allow converting tensors that are already quantized" };
        var keep = new Option<bool>("--keep-unquantizable") { Description = "leave tensors whose rows are not whole blocks unconverted instead of failing" };
        var command = new Command("quantize", "Quantize a GGUF model") { input, output, type, requantize, keep };
        command.SetAction(parse =>
        {
            string typeName = parse.GetValue(type)!;
            if (!GgmlTypeInfo.TryParse(typeName, out var target) || !ModelQuantizer.SupportedTargets.Contains(target))
            {
                throw new ArgumentException($"unknown or unsupported quantization type '{typeName}'; supported: {string.Join(", ", ModelQuantizer.SupportedTargets)}");
            }
            var started = System.Diagnostics.Stopwatch.StartNew();
            var report = ModelQuantizer.Quantize(parse.GetValue(input)!, parse.GetValue(output)!, new QuantizeOptions
            {
                Target = target,
                AllowRequantize = parse.GetValue(requantize),
                KeepUnquantizable = parse.GetValue(keep),
            });
            foreach (var warning in report.Warnings) io.Err.WriteLine($"warning: {warning}");
            io.Out.WriteLine($"quantized {report.Quantized} tensors to {target}, kept {report.Kept}; {report.InputBytes / 1048576.0:F2} MiB -> {report.OutputBytes / 1048576.0:F2} MiB in {started.Elapsed.TotalSeconds:F1} s");
            return 0;
        });
        return command;
    }
}
