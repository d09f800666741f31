using SharpInfer.Gguf;

namespace SharpInfer.Templates;

/// <summary>Where a model's chat template comes from, and the built-in fallback.</summary>
public static class ChatTemplates
{
    /// <summary>The GGUF key holding a model's default chat template.</summary>
    public const string MetadataKey = "tokenizer.chat_template";

    /// <summary>
    /// The fallback for models without a template: ChatML (<c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c> per
    /// message, then <c>&lt;|im_start|&gt;assistant\n</c> with a generation prompt). Content may be a string or a list
    /// of parts, of which the text parts are used.
    /// </summary>
    public const string ChatMl =
        "{%- for message in messages -%}\n" +
        "{{- '<|im_start|>' + message['role'] + '\\n' -}}\n" +
        "{%- if message['content'] is string -%}\n" +
        "{{- message['content'] -}}\n" +
        "{%- elif message['content'] is iterable -%}\n" +
        "{%- for part in message['content'] if part['type'] == 'text' -%}{{- part['text'] -}}{%- endfor -%}\n" +
        "{%- endif -%}\n" +
        "{{- '<|im_end|>\\n' -}}\n" +
        "{%- endfor -%}\n" +
        "{%- if add_generation_prompt -%}\n" +
        "{{- '<|im_start|>assistant\\n' -}}\n" +
        "{%- endif -%}\n";

    private static readonly Lazy<ChatTemplate> ParsedChatMl = new(() => ChatTemplate.Parse(ChatMl));

    /// <summary>
    /// The template to use: <paramref name="overrideFile"/> when given (its errors are thrown), else the model's
    /// <c>tokenizer.chat_template</c>; a model without one, or with one that does not parse, gets ChatML and a
    /// <paramref name="warning"/> saying so.
    /// </summary>
    public static ChatTemplate Resolve(GgufMetadata metadata, string? overrideFile, Action<string>? warning)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (overrideFile is not null)
        {
            string source = File.ReadAllText(overrideFile);
            try
            {
                return ChatTemplate.Parse(source);
            }
            catch (TemplateException e)
            {
                throw new TemplateException($"{overrideFile}: {e.Reason}", e.Line);
            }
        }
        if (metadata.Find(MetadataKey) is { Type: GgufValueType.String } value && value.AsString() is { Length: > 0 } embedded)
        {
            try
            {
                return ChatTemplate.Parse(embedded);
            }
            catch (TemplateException e)
            {
                warning?.Invoke($"the model's chat template cannot be used ({e.Message}); falling back to ChatML");
                return ParsedChatMl.Value;
            }
        }
        warning?.Invoke("the model has no chat template (tokenizer.chat_template); using ChatML");
        return ParsedChatMl.Value;
    }
}
