using System.Text;

namespace SharpInfer.Templates;

internal static partial class Filters
{
    private static readonly object Required = CallArgs.Required.Value;

    /// <summary>Filters that work on <c>soft_str(value)</c> with str methods hand Markup back as Markup.</summary>
    private static object KeepMarkup(object? input, string result) => input is Markup ? new Markup(result) : result;

    private static object? ToStr(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("string", [], []);
        return value as Markup ?? (object)PyFormat.Str(value);
    }

    private static object? Safe(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("safe", [], []);
        return value as Markup ?? new Markup(PyFormat.Str(value));
    }

    private static object? Lower(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("lower", [], []);
        return KeepMarkup(value, PyFormat.Str(value).ToLowerInvariant());
    }

    private static object? Upper(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("upper", [], []);
        return KeepMarkup(value, PyFormat.Str(value).ToUpperInvariant());
    }

    private static object? Capitalize(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("capitalize", [], []);
        return KeepMarkup(value, PyMethods.Capitalize(PyFormat.Str(value)));
    }

    /// <summary>Jinja2's title: each word (split at whitespace, '-', and opening brackets) gets an upper first letter, the rest lower.</summary>
    private static object? Title(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("title", [], []);
        string s = PyFormat.Str(value);
        var sb = new StringBuilder(s.Length);
        bool wordStart = true;
        foreach (char c in s)
        {
            bool separator = PyChars.IsSpace(c) || c is '-' or '(' or '{' or '[' or '<';
            sb.Append(separator ? c : wordStart ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            wordStart = separator;
        }
        return sb.ToString();
    }

    private static object? Trim(Interpreter it, object? value, CallArgs args)
    {
        var chars = args.Bind("trim", ["chars"], [null])[0];
        return KeepMarkup(value, PyMethods.Strip(PyFormat.Str(value), chars is null ? null : PyFormat.Str(chars)));
    }

    private static object? Replace(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("replace", ["old", "new", "count"], [Required, Required, null]);
        long count = a[2] is null ? -1 : ToInteger(a[2], "replace");
        return PyMethods.Replace(PyFormat.Str(value), PyFormat.Str(a[0]), PyFormat.Str(a[1]), count, it.Limits);
    }

    private static object? Center(Interpreter it, object? value, CallArgs args)
    {
        var width = args.Bind("center", ["width"], [80L])[0];
        return KeepMarkup(value, (string)PyMethods.Call(it, PyFormat.Str(value), "center", new CallArgs([width], []))!);
    }

    /// <summary><c>indent(width=4, first=False, blank=False)</c>: indents every line but the first (and blank lines only with <c>blank</c>).</summary>
    private static object? Indent(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("indent", ["width", "first", "blank"], [4L, false, false]);
        string indentation = a[0] is string text ? text : new string(' ', (int)Math.Clamp(ToInteger(a[0], "indent"), 0, 1 << 16));
        var lines = PyMethods.SplitLines(PyFormat.Str(value) + "\n");
        var sb = new StringBuilder();
        if (PyOps.IsTrue(a[2]))
        {
            sb.AppendJoin("\n" + indentation, lines);
        }
        else
        {
            sb.Append(lines[0]);
            foreach (string line in lines.Skip(1))
            {
                sb.Append('\n');
                if (line.Length > 0) sb.Append(indentation);
                sb.Append(line);
                if (sb.Length > it.Limits.MaxOutputChars) throw Limits.StringTooLong(it.Limits.MaxOutputChars);
            }
        }
        if (PyOps.IsTrue(a[1])) sb.Insert(0, indentation);
        if (sb.Length > it.Limits.MaxOutputChars) throw Limits.StringTooLong(it.Limits.MaxOutputChars);
        return KeepMarkup(value, sb.ToString());
    }

    /// <summary>HTML escaping as markupsafe does it, giving Markup (there is no autoescaping: this is only ever explicit).</summary>
    private static object? Escape(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("escape", [], []);
        return Markup.Escape(value);
    }

    private static object? ForceEscape(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("forceescape", [], []);
        return new Markup(Markup.EscapeText(PyFormat.Str(value)));
    }

    private static object? Format(Interpreter it, object? value, CallArgs args)
    {
        if (args.Positional.Count > 0 && args.Keywords.Count > 0) throw new TemplateException("can't handle positional and keyword arguments at the same time");
        object? parameters;
        if (args.Keywords.Count > 0)
        {
            var dict = new PyDict();
            foreach (var (key, item) in args.Keywords) dict.Set(key, item);
            parameters = dict;
        }
        else
        {
            parameters = new PyTuple([.. args.Positional]);
        }
        return value is Markup markup
            ? PyOps.Binary(BinaryOp.Modulo, markup, parameters, it.Limits)
            : PyPercentFormat.Format(PyFormat.Str(value), parameters, it.Limits);
    }

    private static object? Truncate(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("truncate", ["length", "killwords", "end", "leeway"], [255L, false, "...", null]);
        string s = PyFormat.Str(value), end = PyFormat.Str(a[2]);
        long length = ToInteger(a[0], "truncate"), leeway = a[3] is null ? 5 : ToInteger(a[3], "truncate");
        if (length < end.Length) throw new TemplateException("expected length >= len(end)");
        if (leeway < 0) throw new TemplateException("expected leeway >= 0");
        if (s.Length <= length + leeway) return s;
        string head = s[..(int)(length - end.Length)];
        if (PyOps.IsTrue(a[1])) return head + end;
        int space = head.LastIndexOf(' ');
        return (space >= 0 ? head[..space] : head) + end;
    }

    private static object? WordCount(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("wordcount", [], []);
        long count = 0;
        bool inWord = false;
        foreach (char c in PyFormat.Str(value))
        {
            bool word = char.IsLetterOrDigit(c) || c == '_';
            if (word && !inWord) count++;
            inWord = word;
        }
        return count;
    }

    /// <summary>
    /// <c>tojson(ensure_ascii=False, indent=None, separators=None, sort_keys=False)</c>: Hugging Face's override of
    /// Jinja2's filter, which is <c>json.dumps</c> without HTML escaping.
    /// </summary>
    private static object? ToJson(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("tojson", ["ensure_ascii", "indent", "separators", "sort_keys"], [false, null, null, false]);
        string? indent = a[1] switch
        {
            null => null,
            string s => s,
            _ => new string(' ', (int)Math.Clamp(ToInteger(a[1], "tojson"), 0, 1 << 10)),
        };
        string itemSeparator = indent is null ? ", " : ",", keySeparator = ": ";
        if (a[2] is not null)
        {
            var separators = PyOps.Iterate(a[2]);
            if (separators.Count != 2) throw new TemplateException("tojson: separators must be an (item_separator, key_separator) pair");
            itemSeparator = PyFormat.Str(separators[0]);
            keySeparator = PyFormat.Str(separators[1]);
        }
        var options = new PyJson.Options(indent, itemSeparator, keySeparator, PyOps.IsTrue(a[3]), PyOps.IsTrue(a[0]));
        return PyJson.Dumps(value, options, it.Limits.MaxOutputChars);
    }
}
