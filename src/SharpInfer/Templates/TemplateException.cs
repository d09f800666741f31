namespace SharpInfer.Templates;

/// <summary>
/// A chat template that cannot be parsed (syntax errors, unsupported features) or rendered (runtime errors, limits,
/// <c>raise_exception</c>). <see cref="Exception.Message"/> is one line: the template's own text for
/// <c>raise_exception</c>, otherwise the reason followed by " (line N)" when the line is known.
/// </summary>
public sealed class TemplateException : Exception
{
    /// <summary>Creates an error; <paramref name="line"/> is 1-based (0: not known yet).</summary>
    public TemplateException(string reason, int line = 0, bool raisedByTemplate = false)
        : base(Compose(reason, line, raisedByTemplate))
    {
        Reason = reason;
        Line = line;
        RaisedByTemplate = raisedByTemplate;
    }

    /// <summary>The 1-based template line the error belongs to (0 when not known).</summary>
    public int Line { get; }

    /// <summary>What went wrong, without the line suffix.</summary>
    public string Reason { get; }

    /// <summary>True when the template itself raised the error with <c>raise_exception(message)</c>.</summary>
    public bool RaisedByTemplate { get; }

    /// <summary>The same error attributed to <paramref name="line"/>, unless it already has a line.</summary>
    internal TemplateException AtLine(int line) => Line > 0 || line <= 0 ? this : new TemplateException(Reason, line, RaisedByTemplate);

    private static string Compose(string reason, int line, bool raisedByTemplate)
    {
        string oneLine = reason.ReplaceLineEndings(" ");
        return raisedByTemplate || line <= 0 ? oneLine : $"{oneLine} (line {line})";
    }
}
