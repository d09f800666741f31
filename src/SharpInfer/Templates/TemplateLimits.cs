namespace SharpInfer.Templates;

/// <summary>
/// Bounds on what one rendering may do, so a hostile template cannot exhaust memory, time or the stack. The
/// defaults are far above what real chat templates need.
/// </summary>
public sealed record TemplateLimits
{
    /// <summary>The default limits.</summary>
    public static readonly TemplateLimits Default = new();

    /// <summary>Longest output, and longest string value, in UTF-16 characters (default 32 Mi).</summary>
    public int MaxOutputChars { get; init; } = 32 << 20;

    /// <summary>Statements, loop iterations and calls one rendering may execute (default 2 million: a 4,001-message conversation
    /// takes 12,000 to 58,000 through the shared real templates).</summary>
    public long MaxSteps { get; init; } = 2_000_000;

    /// <summary>Deepest nesting of macro calls (default 100).</summary>
    public int MaxCallDepth { get; init; } = 100;

    /// <summary>Most items in one list or range (default 1,000,000; <c>range()</c> itself stops at 100,000 as Jinja2's sandbox does).</summary>
    public int MaxItems { get; init; } = 1_000_000;
}

/// <summary>The errors raised when a limit is reached.</summary>
internal static class Limits
{
    /// <summary>Jinja2's sandbox refuses ranges longer than this.</summary>
    public const int MaxRange = 100_000;

    public static TemplateException StringTooLong(int max) => new($"the template made a string longer than {max} characters");

    public static TemplateException TooManyItems(int max) => new($"the template made a list longer than {max} items");
}
