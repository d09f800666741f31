using System.Text;

namespace SharpInfer.Templates;

/// <summary>
/// A frame of variables. Jinja2 scoping: for-loop iterations, macro calls and with blocks get a child frame, so an
/// assignment inside them does not leak out (which is why templates use <c>namespace()</c>); if blocks share theirs.
/// </summary>
internal sealed class Scope(Scope? parent)
{
    private Dictionary<string, object?>? _variables;

    public bool TryGet(string name, out object? value)
    {
        for (var scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope._variables is not null && scope._variables.TryGetValue(name, out value)) return true;
        }
        value = null;
        return false;
    }

    public Scope? Parent { get; } = parent;

    public void Set(string name, object? value) => (_variables ??= new(StringComparer.Ordinal))[name] = value;
}

/// <summary>Rendered text with a size limit, so runaway output stops with an error instead of exhausting memory.</summary>
internal sealed class TemplateOutput(int maxChars)
{
    private readonly StringBuilder _text = new();

    public void Write(string text)
    {
        if ((long)_text.Length + text.Length > maxChars) throw new TemplateException($"the rendered text would exceed {maxChars} characters");
        _text.Append(text);
    }

    public override string ToString() => _text.ToString();
}
