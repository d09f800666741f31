using System.Text.Json.Nodes;
using SharpInfer.Templates;

namespace SharpInfer.Tests.Templates;

/// <summary>
/// Renders template snippets with a fixed set of variables. The expected strings of the theory tests were produced
/// by Jinja2 3.1 itself, configured as Hugging Face's apply_chat_template configures it, with these same variables.
/// </summary>
internal static class TemplateHarness
{
    private const string StandardVariables = """
        {"d": {"a": 1, "b": [1, 2]}, "l": [3, 1, 2], "s": "Hello World", "n": null, "e": [], "f": 2.5,
         "msgs": [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"},
                  {"role": "assistant", "content": "yo", "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}}]}],
         "u": "héllo 😀 <b>&\"'"}
        """;

    public static readonly DateTimeOffset Now = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    public static ChatTemplateInput Input(JsonObject? variables = null) => new()
    {
        Messages = [],
        BosToken = "<s>",
        EosToken = "</s>",
        Now = Now,
        ExtraVariables = variables ?? JsonNode.Parse(StandardVariables)!.AsObject(),
    };

    public static string Render(string template, TemplateLimits? limits = null) =>
        ChatTemplate.Parse(template).Render(Input(), limits ?? TemplateLimits.Default);

    /// <summary>The error a template raises when parsed or rendered.</summary>
    public static TemplateException Error(string template, TemplateLimits? limits = null) =>
        Assert.Throws<TemplateException>(() => Render(template, limits));
}
