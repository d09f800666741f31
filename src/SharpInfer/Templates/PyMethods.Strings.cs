using System.Text;

namespace SharpInfer.Templates;

internal static partial class PyMethods
{
    private static object? CallString(Interpreter interpreter, string s, string name, CallArgs args)
    {
        string callee = $"str.{name}()";
        object? Required = CallArgs.Required.Value;
        switch (name)
        {
            case "strip" or "lstrip" or "rstrip":
            {
                var chars = args.Bind(callee, ["chars"], [null])[0];
                return Strip(s, chars is null ? null : ExpectString(chars, callee), name != "rstrip", name != "lstrip");
            }
            case "startswith" or "endswith":
            {
                var a = args.Bind(callee, ["prefix", "start", "end"], [Required, null, null]);
                string part = Substring(s, a[1], a[2]);
                var candidates = a[0] is PyTuple t ? t.Items : [a[0]];
                return candidates.Any(c => name == "startswith"
                    ? part.StartsWith(ExpectString(c, callee), StringComparison.Ordinal)
                    : part.EndsWith(ExpectString(c, callee), StringComparison.Ordinal));
            }
            case "split" or "rsplit":
            {
                var a = args.Bind(callee, ["sep", "maxsplit"], [null, -1L]);
                long max = Filters.ToInteger(a[1], callee);
                var parts = a[0] is null ? SplitWhitespace(s, max, name == "rsplit") : SplitOn(s, ExpectString(a[0], callee), max, name == "rsplit");
                interpreter.CheckItems(parts.Count);
                return parts.Cast<object?>().ToList();
            }
            case "splitlines":
                return SplitLines(s, PyOps.IsTrue(args.Bind(callee, ["keepends"], [false])[0])).Cast<object?>().ToList();
            case "lower" or "casefold": args.Bind(callee, [], []); return s.ToLowerInvariant();
            case "upper": args.Bind(callee, [], []); return s.ToUpperInvariant();
            case "title": args.Bind(callee, [], []); return Title(s);
            case "capitalize": args.Bind(callee, [], []); return Capitalize(s);
            case "swapcase":
                args.Bind(callee, [], []);
                return string.Concat(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)));
            case "replace":
            {
                var a = args.Bind(callee, ["old", "new", "count"], [Required, Required, -1L]);
                return Replace(s, ExpectString(a[0], callee), ExpectString(a[1], callee), Filters.ToInteger(a[2], callee), interpreter.Limits);
            }
            case "format": return PyStringFormat.Format(s, args, interpreter.Limits);
            case "find" or "rfind" or "index" or "rindex":
            {
                var a = args.Bind(callee, ["sub", "start", "end"], [Required, null, null]);
                string sub = ExpectString(a[0], callee);
                int offset = (int)ClampIndex(a[1], s.Length, 0);
                string part = Substring(s, a[1], a[2]);
                int at = name.StartsWith('r') ? part.LastIndexOf(sub, StringComparison.Ordinal) : part.IndexOf(sub, StringComparison.Ordinal);
                if (at < 0 && name.EndsWith("index")) throw new TemplateException("substring not found");
                return at < 0 ? -1L : (long)(at + offset);
            }
            case "count":
            {
                string sub = ExpectString(args.Bind(callee, ["sub"], [Required])[0], callee);
                return (long)CountOccurrences(s, sub);
            }
            case "join":
            {
                var items = PyOps.Iterate(args.Bind(callee, ["iterable"], [Required])[0]);
                var parts = items.Select(item => item as string ?? throw new TemplateException($"sequence item: expected str instance, {PyOps.TypeName(item)} found"));
                return PyOps.Concat(Interleave(parts, s), interpreter.Limits.MaxOutputChars);
            }
            case "center" or "ljust" or "rjust":
            {
                var a = args.Bind(callee, ["width", "fillchar"], [Required, " "]);
                return Pad(s, Filters.ToInteger(a[0], callee), ExpectString(a[1], callee), name, interpreter.Limits);
            }
            case "zfill":
            {
                long width = Filters.ToInteger(args.Bind(callee, ["width"], [Required])[0], callee);
                if (width > interpreter.Limits.MaxOutputChars) throw Limits.StringTooLong(interpreter.Limits.MaxOutputChars);
                int sign = s.Length > 0 && s[0] is '+' or '-' ? 1 : 0;
                return s.Length >= width ? s : s[..sign] + new string('0', (int)width - s.Length) + s[sign..];
            }
            case "partition" or "rpartition":
            {
                string sep = ExpectString(args.Bind(callee, ["sep"], [Required])[0], callee);
                int at = name == "partition" ? s.IndexOf(sep, StringComparison.Ordinal) : s.LastIndexOf(sep, StringComparison.Ordinal);
                if (at < 0) return name == "partition" ? new PyTuple([s, "", ""]) : new PyTuple(["", "", s]);
                return new PyTuple([s[..at], sep, s[(at + sep.Length)..]]);
            }
            case "removeprefix":
            {
                string prefix = ExpectString(args.Bind(callee, ["prefix"], [Required])[0], callee);
                return s.StartsWith(prefix, StringComparison.Ordinal) ? s[prefix.Length..] : s;
            }
            case "removesuffix":
            {
                string suffix = ExpectString(args.Bind(callee, ["suffix"], [Required])[0], callee);
                return suffix.Length > 0 && s.EndsWith(suffix, StringComparison.Ordinal) ? s[..^suffix.Length] : s;
            }
            case "expandtabs":
                return s.Replace("\t", new string(' ', (int)Math.Clamp(Filters.ToInteger(args.Bind(callee, ["tabsize"], [8L])[0], callee), 0, 64)));
            default:
                args.Bind(callee, [], []);
                return Predicate(s, name);
        }
    }

    private static bool Predicate(string s, string name)
    {
        if (s.Length == 0) return false;
        return name switch
        {
            "isdigit" or "isnumeric" or "isdecimal" => s.All(char.IsDigit),
            "isalpha" => s.All(char.IsLetter),
            "isalnum" => s.All(char.IsLetterOrDigit),
            "isspace" => s.All(PyChars.IsSpace),
            "islower" => s.Any(char.IsLower) && !s.Any(char.IsUpper),
            "isupper" => s.Any(char.IsUpper) && !s.Any(char.IsLower),
            _ => s.Any(char.IsLetter) && Title(s) == s, // istitle
        };
    }

    public static string ExpectString(object? value, string callee) =>
        value as string ?? throw new TemplateException($"{callee} expects a string, not '{PyOps.TypeName(value)}'");

    private static long ClampIndex(object? index, int length, long fallback)
    {
        if (index is null) return fallback;
        long i = Filters.ToInteger(index, "slice");
        if (i < 0) i += length;
        return Math.Clamp(i, 0, length);
    }

    private static string Substring(string s, object? start, object? end)
    {
        long from = ClampIndex(start, s.Length, 0), to = ClampIndex(end, s.Length, s.Length);
        return to <= from ? "" : s[(int)from..(int)to];
    }

    private static IEnumerable<string> Interleave(IEnumerable<string> parts, string separator)
    {
        bool first = true;
        foreach (string part in parts)
        {
            if (!first) yield return separator;
            first = false;
            yield return part;
        }
    }

    /// <summary><c>str.strip(chars)</c>: whitespace when <paramref name="chars"/> is null.</summary>
    public static string Strip(string s, string? chars, bool left = true, bool right = true)
    {
        Func<char, bool> strip = chars is null ? PyChars.IsSpace : chars.Contains;
        int start = 0, end = s.Length;
        if (left) while (start < end && strip(s[start])) start++;
        if (right) while (end > start && strip(s[end - 1])) end--;
        return s[start..end];
    }

    private static List<string> SplitWhitespace(string s, long max, bool fromRight)
    {
        var words = new List<string>();
        if (fromRight)
        {
            int end = s.Length;
            while (true)
            {
                while (end > 0 && PyChars.IsSpace(s[end - 1])) end--;
                if (end == 0) break;
                if (max >= 0 && words.Count == max)
                {
                    words.Add(s[..end]);
                    break;
                }
                int start = end;
                while (start > 0 && !PyChars.IsSpace(s[start - 1])) start--;
                words.Add(s[start..end]);
                end = start;
            }
            words.Reverse();
            return words;
        }
        int i = 0;
        while (true)
        {
            while (i < s.Length && PyChars.IsSpace(s[i])) i++;
            if (i == s.Length) break;
            if (max >= 0 && words.Count == max)
            {
                words.Add(s[i..]);
                break;
            }
            int start = i;
            while (i < s.Length && !PyChars.IsSpace(s[i])) i++;
            words.Add(s[start..i]);
        }
        return words;
    }

    private static List<string> SplitOn(string s, string sep, long max, bool fromRight)
    {
        if (sep.Length == 0) throw new TemplateException("empty separator");
        if (max < 0) return [.. s.Split(sep)];
        var parts = new List<string>();
        if (fromRight)
        {
            int end = s.Length;
            while (parts.Count < max)
            {
                int at = end - sep.Length < 0 ? -1 : s.LastIndexOf(sep, end - 1, end, StringComparison.Ordinal);
                if (at < 0 || at + sep.Length > end) break;
                parts.Add(s[(at + sep.Length)..end]);
                end = at;
            }
            parts.Add(s[..end]);
            parts.Reverse();
            return parts;
        }
        int from = 0;
        while (parts.Count < max)
        {
            int at = s.IndexOf(sep, from, StringComparison.Ordinal);
            if (at < 0) break;
            parts.Add(s[from..at]);
            from = at + sep.Length;
        }
        parts.Add(s[from..]);
        return parts;
    }

    /// <summary>Python's <c>str.splitlines</c> (every Unicode line boundary, <c>\r\n</c> as one).</summary>
    public static List<string> SplitLines(string s, bool keepEnds = false)
    {
        var lines = new List<string>();
        int start = 0, i = 0;
        while (i < s.Length)
        {
            if (!PyChars.IsLineBreak(s[i]))
            {
                i++;
                continue;
            }
            int breakLength = s[i] == '\r' && i + 1 < s.Length && s[i + 1] == '\n' ? 2 : 1;
            lines.Add(keepEnds ? s[start..(i + breakLength)] : s[start..i]);
            i += breakLength;
            start = i;
        }
        if (start < s.Length) lines.Add(s[start..]);
        return lines;
    }

    /// <summary>Python's <c>str.title</c>: a cased letter is upper after an uncased character, lower after a cased one.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousCased = false;
        foreach (char c in s)
        {
            bool cased = char.IsUpper(c) || char.IsLower(c);
            sb.Append(cased ? (previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)) : c);
            previousCased = cased;
        }
        return sb.ToString();
    }

    public static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    public static int CountOccurrences(string s, string sub)
    {
        if (sub.Length == 0) return PyOps.CodePointCount(s) + 1;
        int count = 0;
        for (int at = s.IndexOf(sub, StringComparison.Ordinal); at >= 0; at = s.IndexOf(sub, at + sub.Length, StringComparison.Ordinal)) count++;
        return count;
    }

    /// <summary><c>str.replace</c>, refusing results over the size limit before building them.</summary>
    public static string Replace(string s, string old, string replacement, long count, TemplateLimits limits)
    {
        long occurrences = CountOccurrences(s, old);
        if (count >= 0) occurrences = Math.Min(occurrences, count);
        if (s.Length + occurrences * (double)(replacement.Length - old.Length) > limits.MaxOutputChars) throw Limits.StringTooLong(limits.MaxOutputChars);
        if (count < 0 && old.Length > 0) return s.Replace(old, replacement, StringComparison.Ordinal);
        var sb = new StringBuilder();
        int from = 0;
        for (long n = 0; n < occurrences; n++)
        {
            if (old.Length == 0)
            {
                sb.Append(replacement);
                if (from < s.Length) sb.Append(s[from++]);
                continue;
            }
            int at = s.IndexOf(old, from, StringComparison.Ordinal);
            sb.Append(s, from, at - from).Append(replacement);
            from = at + old.Length;
        }
        return sb.Append(s, from, s.Length - from).ToString();
    }

    private static string Pad(string s, long width, string fill, string how, TemplateLimits limits)
    {
        if (fill.Length != 1) throw new TemplateException("The fill character must be exactly one character long");
        if (width > limits.MaxOutputChars) throw Limits.StringTooLong(limits.MaxOutputChars);
        int total = (int)width - s.Length;
        if (total <= 0) return s;
        int left = how switch { "ljust" => 0, "rjust" => total, _ => total / 2 + (total & (int)width & 1) };
        return new string(fill[0], left) + s + new string(fill[0], total - left);
    }
}
