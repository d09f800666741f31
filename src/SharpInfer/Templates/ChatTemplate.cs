namespace SharpInfer.Templates;

/// <summary>
/// A parsed chat template: a Jinja2-compatible template (the subset chat templates use, see docs/templates.md)
/// rendered with Hugging Face's settings (<c>trim_blocks</c>, <c>lstrip_blocks</c>, loop controls,
/// <c>raise_exception</c>, <c>strftime_now</c>, <c>tojson</c> as <c>json.dumps</c>). Parse once, render many times;
/// rendering is thread-safe.
/// </summary>
public sealed class ChatTemplate
{
    private readonly IReadOnlyList<Node> _body;

    private ChatTemplate(string source, IReadOnlyList<Node> body)
    {
        Source = source;
        _body = body;
    }

    /// <summary>The template text.</summary>
    public string Source { get; }

    /// <summary>Parses a template; throws <see cref="TemplateException"/> naming the problem and its line.</summary>
    public static ChatTemplate Parse(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        try
        {
            return new ChatTemplate(source, TemplateParser.Parse(source));
        }
        catch (Exception e) when (e is not TemplateException and not OutOfMemoryException)
        {
            throw new TemplateException($"internal error while parsing the template: {e.Message}");
        }
    }

    /// <summary>Renders the template with the default <see cref="TemplateLimits"/>.</summary>
    public string Render(ChatTemplateInput input) => Render(input, TemplateLimits.Default);

    /// <summary>
    /// Renders the template; throws <see cref="TemplateException"/> for <c>raise_exception</c> (with the template's
    /// own message), runtime errors (with their line) and exceeded limits.
    /// </summary>
    public string Render(ChatTemplateInput input, TemplateLimits limits)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(limits);
        try
        {
            var globals = new Scope(null);
            Globals.AddTo(globals, input.Now ?? DateTimeOffset.Now);
            var variables = new Scope(globals);
            variables.Set("messages", PyJson.FromNode(input.Messages));
            variables.Set("add_generation_prompt", input.AddGenerationPrompt);
            variables.Set("bos_token", input.BosToken);
            variables.Set("eos_token", input.EosToken);
            if (input.Tools is not null) variables.Set("tools", PyJson.FromNode(input.Tools));
            foreach (var (name, value) in input.ExtraVariables ?? []) variables.Set(name, PyJson.FromNode(value));
            return new Interpreter(limits).Render(_body, variables);
        }
        catch (Exception e) when (e is not TemplateException and not OutOfMemoryException)
        {
            throw new TemplateException($"internal error while rendering the template: {e.Message}");
        }
    }
}
