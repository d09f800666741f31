using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpInfer.Hub;

namespace SharpInfer.Cli.Commands;

/// <summary><c>sharpinfer list [--json]</c>: the GGUF files in the model folder with architecture, type, size and context length.</summary>
internal static class ListCommand
{
    public static Command Create(CliIO io)
    {
        var json = new Option<bool>("--json") { Description = "print a JSON array instead of a table (default: a table)" };
        var command = new Command("list", $"List the models in the local model folder (${ModelStore.RootVariable}, default ~/.cache/sharpinfer/models)") { json };
        command.SetAction(parse =>
        {
            var store = ModelStore.Default();
            var models = store.List();
            if (parse.GetValue(json))
            {
                io.Out.WriteLine(JsonSerializer.Serialize(models.Select(m => new Dictionary<string, object?>
                {
                    ["name"] = m.Name,
                    ["path"] = m.Path,
                    ["bytes"] = m.Bytes,
                    ["architecture"] = m.Architecture,
                    ["type"] = m.Type,
                    ["context_length"] = m.ContextLength,
                    ["error"] = m.Error,
                })));
                return 0;
            }
            if (models.Count == 0)
            {
                io.Out.WriteLine($"no models in {store.Root} (get one with: sharpinfer pull OWNER/REPO)");
                return 0;
            }
            var rows = models.Select(m => new[]
            {
                Files.SafeText.Line(m.Name),
                m.Architecture is null ? "?" : Files.SafeText.Line(m.Architecture),
                m.Type ?? "?",
                ProgressReporter.Bytes(m.Bytes),
                m.ContextLength?.ToString(CultureInfo.InvariantCulture) ?? "?",
                m.Error is null ? "" : $"unreadable: {m.Error}",
            }).Prepend(["NAME", "ARCH", "TYPE", "SIZE", "CONTEXT", ""]).ToList();
            var widths = Enumerable.Range(0, 5).Select(c => rows.Max(r => r[c].Length)).ToArray();
            io.Out.WriteLine($"models in {store.Root}:");
            foreach (var r in rows)
            {
                io.Out.WriteLine(string.Join("  ", r.Take(5).Select((cell, c) => c == 3 || c == 4 ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))).TrimEnd() + (r[5].Length > 0 ? "  " + r[5] : ""));
            }
            return 0;
        });
        return command;
    }
}
