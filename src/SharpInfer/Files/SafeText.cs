using System.Globalization;
using System.Text;

namespace SharpInfer.Files;

/// <summary>
/// Text read from a file (tensor names, metadata keys, strings), made safe to put in a message: control characters,
/// escape sequences, invisible and direction-changing characters and lone surrogates are shown as <c>\xNN</c> or
/// <c>\u{NNNN}</c>, and anything longer than a limit is cut with its full length noted. A corrupt length can make a
/// "name" a megabyte of terminal escape codes; printed raw it would rewrite the user's terminal.
/// </summary>
public static class SafeText
{
    /// <summary>Characters of a name shown before it is cut.</summary>
    public const int DefaultLimit = 64;

    /// <summary>The name in single quotes, escaped and cut to <paramref name="limit"/> characters.</summary>
    public static string Quote(string? text, int limit = DefaultLimit) => "'" + Escape(text, limit) + "'";

    /// <summary>The text escaped and cut to <paramref name="limit"/> characters (no quotes).</summary>
    public static string Escape(string? text, int limit = DefaultLimit) => Escape(text, limit, escapeBackslash: true);

    /// <summary>A whole message made printable on one line: every control or invisible character escaped, at most <paramref name="limit"/> characters.</summary>
    public static string Line(string message, int limit = 1000) => Escape(message.ReplaceLineEndings(" ").Trim(), limit, escapeBackslash: false);

    private static string Escape(string? text, int limit, bool escapeBackslash)
    {
        if (text is null) return "(none)";
        var sb = new StringBuilder(Math.Min(text.Length, limit) + 16);
        int shown = 0, i = 0;
        while (i < text.Length && shown < limit)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(text, i, 2);
                i += 2;
            }
            else
            {
                AppendChar(sb, text[i], escapeBackslash);
                i++;
            }
            shown++;
        }
        if (i < text.Length) sb.Append(CultureInfo.InvariantCulture, $"… ({text.Length} characters)");
        return sb.ToString();
    }

    private static void AppendChar(StringBuilder sb, char c, bool escapeBackslash)
    {
        if (c == '\\' && escapeBackslash)
        {
            sb.Append(@"\\");
            return;
        }
        if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0))
        {
            sb.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:X2}");
            return;
        }
        if (char.IsSurrogate(c) || IsInvisible(c))
        {
            sb.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)c:X4}}}");
            return;
        }
        sb.Append(c);
    }

    /// <summary>Format characters (zero-width, bidirectional overrides and isolates) and the line/paragraph separators.</summary>
    private static bool IsInvisible(char c) => CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.Format
        or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.OtherNotAssigned;
}
