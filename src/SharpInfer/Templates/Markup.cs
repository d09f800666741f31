namespace SharpInfer.Templates;

/// <summary>
/// markupsafe's <c>Markup</c>, what <c>|safe</c> and <c>|escape</c> return: text known to be HTML-safe. It matters
/// even without autoescaping, because adding a plain string to it HTML-escapes that string (<c>"x"|safe + '"'</c> is
/// <c>x&amp;#34;</c>), and real templates do that (functionary v3.1). Printing, <c>~</c> and most filters turn it back
/// into plain text.
/// </summary>
internal sealed class Markup(string text)
{
    public string Text { get; } = text;

    /// <summary>markupsafe's <c>escape</c>: &amp; &lt; &gt; " ' become entities; Markup stays as it is.</summary>
    public static Markup Escape(object? value) => value as Markup ?? new Markup(EscapeText(PyFormat.Str(value)));

    public static string EscapeText(string s) =>
        s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("'", "&#39;").Replace("\"", "&#34;");

    /// <summary>The value with any Markup replaced by its text, for operations that treat it as a str.</summary>
    public static object? Plain(object? value) => value is Markup m ? m.Text : value;

    /// <summary>A result as the Markup method would return it: strings and lists of strings wrapped again.</summary>
    public static object? Wrap(object? value) => value switch
    {
        string s => new Markup(s),
        List<object?> list => list.Select(Wrap).ToList(),
        PyTuple tuple => new PyTuple([.. tuple.Items.Select(Wrap)]),
        _ => value,
    };

    public override string ToString() => Text;
}
