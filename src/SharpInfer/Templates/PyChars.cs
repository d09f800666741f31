namespace SharpInfer.Templates;

/// <summary>Character classes as Python's <c>str</c> methods and <c>re</c> define them.</summary>
internal static class PyChars
{
    /// <summary>Python's <c>str.isspace</c> (also what <c>\s</c> matches): .NET's set plus the four separators U+001C..U+001F.</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || (c >= '\x1c' && c <= '\x1f');

    /// <summary>The text with Python-whitespace removed from its end (<c>str.rstrip()</c>).</summary>
    public static string TrimEnd(string text)
    {
        int end = text.Length;
        while (end > 0 && IsSpace(text[end - 1])) end--;
        return end == text.Length ? text : text[..end];
    }

    /// <summary>The text with Python-whitespace removed from both ends (<c>str.strip()</c>).</summary>
    public static string Trim(string text)
    {
        int start = 0, end = text.Length;
        while (start < end && IsSpace(text[start])) start++;
        while (end > start && IsSpace(text[end - 1])) end--;
        return text[start..end];
    }

    /// <summary>True when every character from <paramref name="start"/> on is Python-whitespace and there is at least one.</summary>
    public static bool IsAllSpace(string text, int start)
    {
        if (start >= text.Length) return false;
        for (int i = start; i < text.Length; i++)
        {
            if (!IsSpace(text[i])) return false;
        }
        return true;
    }

    /// <summary>Python's line boundaries for <c>str.splitlines</c>.</summary>
    public static bool IsLineBreak(char c) => c is '\n' or '\r' or '\x0b' or '\x0c' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029';
}
