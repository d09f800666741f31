// Placeholder for the chat-template engine being written on the `templates` branch: the same public types, rendering
// ChatML whatever the template says. The lead deletes this file when that branch is merged; nothing else builds on it.
using System.Text;
using System.Text.Json.Nodes;
using SharpInfer.Gguf;

namespace SharpInfer.Templates;

/// <summary>A template could not be parsed or rendered.</summary>
public sealed class TemplateException(string message, int line = 0) : Exception(message)
{
    /// <summary>Line of the template the problem is on (1-based; 0 when unknown).</summary>
    public int Line { get; } = line;
}

/// <summary>A parsed chat template (placeholder: renders ChatML).</summary>
public sealed class ChatTemplate
{
    private ChatTemplate(string source) => Source = source;

    /// <summary>Parses a template.</summary>
    public static ChatTemplate Parse(string source) => new(source ?? throw new ArgumentNullException(nameof(source)));

    /// <summary>The template text.</summary>
    public string Source { get; }

    /// <summary>Renders a conversation.</summary>
    public string Render(ChatTemplateInput input)
    {
        var text = new StringBuilder();
        foreach (var message in input.Messages)
        {
            if (message is not JsonObject m || m["role"] is not JsonValue role) throw new TemplateException("every message needs a role");
            string content = m["content"] is JsonValue v && v.TryGetValue(out string? s) ? s : string.Empty;
            text.Append("<|im_start|>").Append(role.ToString()).Append('\n').Append(content).Append("<|im_end|>\n");
        }
        if (input.AddGenerationPrompt) text.Append("<|im_start|>assistant\n");
        return text.ToString();
    }
}

/// <summary>What a template renders.</summary>
public sealed record ChatTemplateInput
{
    /// <summary>The messages.</summary>
    public required JsonArray Messages { get; init; }
    /// <summary>End with the start of an assistant turn.</summary>
    public bool AddGenerationPrompt { get; init; }
    /// <summary>Text of the BOS token.</summary>
    public string BosToken { get; init; } = "";
    /// <summary>Text of the EOS token.</summary>
    public string EosToken { get; init; } = "";
    /// <summary>The time strftime_now reports.</summary>
    public DateTimeOffset? Now { get; init; }
    /// <summary>Tools.</summary>
    public JsonArray? Tools { get; init; }
    /// <summary>More template variables.</summary>
    public JsonObject? ExtraVariables { get; init; }
}

/// <summary>Built-in templates and the choice of a model's template.</summary>
public static class ChatTemplates
{
    /// <summary>ChatML.</summary>
    public const string ChatMl = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /// <summary>The override file, else the model's template, else ChatML with a warning.</summary>
    public static ChatTemplate Resolve(GgufMetadata metadata, string? overrideFile, Action<string>? warning)
    {
        if (overrideFile is not null) return ChatTemplate.Parse(File.ReadAllText(overrideFile));
        if (metadata.TryGetString("tokenizer.chat_template") is { } source) return ChatTemplate.Parse(source);
        warning?.Invoke("the model has no chat template (tokenizer.chat_template); using ChatML");
        return ChatTemplate.Parse(ChatMl);
    }
}
