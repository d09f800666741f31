using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpInfer.Templates;

namespace SharpInfer.Cli.Commands;

/// <summary>
/// <c>sharpinfer template FILE.jinja --messages FILE.json [--add-generation-prompt] [--bos-token T] [--eos-token T]
/// [--date ISO]</c>: prints exactly what the chat template renders (no newline added), or the template's error.
/// </summary>
internal static class TemplateCommand
{
    public static Command Create(CliIO io)
    {
        var file = new Argument<string>("FILE") { Description = "Jinja chat template" };
        var messages = new Option<string>("--messages") { Description = "JSON file: an array of messages, or an object with messages, optional tools and other template variables", Required = true };
        var generationPrompt = new Option<bool>("--add-generation-prompt") { Description = "end with the opening of an assistant turn" };
        var bos = new Option<string>("--bos-token") { Description = "the bos_token text (default: empty)", DefaultValueFactory = _ => "" };
        var eos = new Option<string>("--eos-token") { Description = "the eos_token text (default: empty)", DefaultValueFactory = _ => "" };
        var date = new Option<string?>("--date") { Description = "what strftime_now formats (ISO 8601, e.g. 2026-01-02T03:04:05; default: now)" };
        var command = new Command("template", "Render a chat template with messages, as a model would see them") { file, messages, generationPrompt, bos, eos, date };
        command.SetAction(parse =>
        {
            var template = ChatTemplate.Parse(File.ReadAllText(parse.GetValue(file)!));
            var input = ReadInput(parse.GetValue(messages)!) with
            {
                AddGenerationPrompt = parse.GetValue(generationPrompt),
                BosToken = parse.GetValue(bos)!,
                EosToken = parse.GetValue(eos)!,
                Now = ParseDate(parse.GetValue(date)),
            };
            io.Out.Write(template.Render(input));
            io.Out.Flush();
            return 0;
        });
        return command;
    }

    /// <summary>The messages file: an array of messages, or <c>{"messages": [...], "tools": [...], ...}</c> whose other keys become variables.</summary>
    internal static ChatTemplateInput ReadInput(string path)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{path}: not valid JSON ({e.Message})");
        }
        if (root is JsonArray array) return new ChatTemplateInput { Messages = array };
        if (root is not JsonObject obj || obj["messages"] is not JsonArray list)
        {
            throw new ArgumentException($"{path}: expected a JSON array of messages or an object with a \"messages\" array");
        }
        var tools = obj["tools"];
        if (tools is not null and not JsonArray) throw new ArgumentException($"{path}: \"tools\" must be an array");
        var extra = new JsonObject();
        foreach (var (key, value) in obj)
        {
            if (key is not "messages" and not "tools") extra[key] = value?.DeepClone();
        }
        return new ChatTemplateInput { Messages = (JsonArray)list.DeepClone(), Tools = (JsonArray?)tools?.DeepClone(), ExtraVariables = extra.Count > 0 ? extra : null };
    }

    private static DateTimeOffset? ParseDate(string? text)
    {
        if (text is null) return null;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal, out var when)) return when;
        throw new UsageException($"--date: cannot read '{text}' as a date and time (use ISO 8601, e.g. 2026-01-02T03:04:05)");
    }
}
