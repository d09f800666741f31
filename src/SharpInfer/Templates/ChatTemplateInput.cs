using System.Text.Json.Nodes;

namespace SharpInfer.Templates;

/// <summary>
/// What a chat template renders: the variables Hugging Face's <c>apply_chat_template</c> passes (<c>messages</c>,
/// <c>add_generation_prompt</c>, <c>bos_token</c>, <c>eos_token</c>, <c>tools</c> when given) plus any others.
/// </summary>
public sealed record ChatTemplateInput
{
    /// <summary>OpenAI-shaped messages: objects with <c>role</c>, <c>content</c> and optionally <c>tool_calls</c> and more.</summary>
    public required JsonArray Messages { get; init; }

    /// <summary>Whether the template should end with the opening of an assistant turn.</summary>
    public bool AddGenerationPrompt { get; init; }

    /// <summary>The text of the model's beginning-of-sequence token (<c>bos_token</c>).</summary>
    public string BosToken { get; init; } = "";

    /// <summary>The text of the model's end-of-sequence token (<c>eos_token</c>).</summary>
    public string EosToken { get; init; } = "";

    /// <summary>What <c>strftime_now</c> formats (its date and clock time as given); null: the current local time.</summary>
    public DateTimeOffset? Now { get; init; }

    /// <summary>Tool definitions (<c>tools</c>); when null the variable is left undefined.</summary>
    public JsonArray? Tools { get; init; }

    /// <summary>More top-level variables (for instance a template's own switches); they take precedence over the ones above.</summary>
    public JsonObject? ExtraVariables { get; init; }
}
