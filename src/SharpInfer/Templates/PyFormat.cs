using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace SharpInfer.Templates;

/// <summary>Python's <c>str()</c> and <c>repr()</c> of template values, which is what templates print.</summary>
internal static class PyFormat
{
    /// <summary><c>str(value)</c>: None, True/False, floats as Python writes them, containers as their repr; Undefined is empty.</summary>
    public static string Str(object? value) => value switch
    {
        string s => s,
        Markup m => m.Text,
        Undefined => "",
        _ => Repr(value),
    };

    /// <summary><c>repr(value)</c>.</summary>
    public static string Repr(object? value)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, value, 0);
        return sb.ToString();
    }

    private const int MaxReprDepth = 200;

    private static void AppendRepr(StringBuilder sb, object? value, int depth)
    {
        if (depth > MaxReprDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw new TemplateException("value nested too deeply to print (a list that contains itself?)");
        }
        switch (value)
        {
            case null: sb.Append("None"); break;
            case bool b: sb.Append(b ? "True" : "False"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d: sb.Append(Float(d)); break;
            case string s: AppendStringRepr(sb, s); break;
            case Markup m:
                sb.Append("Markup(");
                AppendStringRepr(sb, m.Text);
                sb.Append(')');
                break;
            case Undefined: sb.Append("Undefined"); break;
            case PyRange r: sb.Append(r.ToString()); break;
            case PyTuple t:
                sb.Append('(');
                AppendItems(sb, t.Items, depth);
                if (t.Count == 1) sb.Append(',');
                sb.Append(')');
                break;
            case IList<object?> list:
                sb.Append('[');
                AppendItems(sb, list, depth);
                sb.Append(']');
                break;
            case PyDict dict:
                AppendDict(sb, dict, depth);
                break;
            case TemplateNamespace ns:
                sb.Append("<Namespace ");
                var asDict = new PyDict();
                foreach (var kv in ns.Attributes) asDict.Set(kv.Key, kv.Value);
                AppendDict(sb, asDict, depth);
                sb.Append('>');
                break;
            case PyCallable f: sb.Append($"<function {f.Name}>"); break;
            default: sb.Append(value.ToString()); break;
        }
    }

    private static void AppendItems(StringBuilder sb, IEnumerable<object?> items, int depth)
    {
        bool first = true;
        foreach (var item in items)
        {
            if (!first) sb.Append(", ");
            first = false;
            AppendRepr(sb, item, depth + 1);
        }
    }

    private static void AppendDict(StringBuilder sb, PyDict dict, int depth)
    {
        sb.Append('{');
        bool first = true;
        foreach (var (key, item) in dict.Items)
        {
            if (!first) sb.Append(", ");
            first = false;
            AppendRepr(sb, key, depth + 1);
            sb.Append(": ");
            AppendRepr(sb, item, depth + 1);
        }
        sb.Append('}');
    }

    /// <summary>Python's string repr: single quotes unless the text has one and no double quote; escapes for the unprintable.</summary>
    public static void AppendStringRepr(StringBuilder sb, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == quote || c == '\\') sb.Append('\\').Append(c);
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c == '\t') sb.Append("\\t");
            else if (c < ' ' || c == '\x7f') sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            else if (c < '\x7f') sb.Append(c);
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                int code = char.ConvertToUtf32(c, s[i + 1]);
                if (IsPrintable(code)) sb.Append(c).Append(s[i + 1]);
                else sb.Append("\\U").Append(code.ToString("x8", CultureInfo.InvariantCulture));
                i++;
            }
            else if (IsPrintable(c)) sb.Append(c);
            else if (c <= '\xff') sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            else sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }
        sb.Append(quote);
    }

    /// <summary>Python's <c>str.isprintable</c> for one code point: not a control, format, surrogate, private, unassigned or separator character.</summary>
    private static bool IsPrintable(int codePoint)
    {
        if (codePoint == ' ') return true;
        var category = CharUnicodeInfo.GetUnicodeCategory(codePoint);
        return category is not (UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.SpaceSeparator
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator);
    }

    /// <summary>
    /// Python's <c>repr(float)</c>: the shortest digits that round-trip, positional when the decimal exponent is in
    /// [-4, 16), otherwise scientific with at least two exponent digits; integral values keep ".0".
    /// </summary>
    public static string Float(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        bool negative = r.StartsWith('-');
        if (negative) r = r[1..];
        int e = r.IndexOfAny(['E', 'e']);
        int exponent = e >= 0 ? int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : 0;
        string mantissa = e >= 0 ? r[..e] : r;
        int dot = mantissa.IndexOf('.');
        string digits = dot >= 0 ? mantissa.Remove(dot, 1) : mantissa;
        // value = 0.DIGITS × 10^point
        int point = (dot >= 0 ? dot : mantissa.Length) + exponent;
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') lead++;
        digits = digits[lead..];
        point -= lead;
        digits = digits.TrimEnd('0');
        string sign = negative ? "-" : "";
        if (digits.Length == 0) return sign + "0.0";
        int sci = point - 1;
        if (sci < -4 || sci >= 16)
        {
            string frac = digits.Length > 1 ? "." + digits[1..] : "";
            string expSign = sci < 0 ? "-" : "+";
            return $"{sign}{digits[0]}{frac}e{expSign}{Math.Abs(sci):00}";
        }
        if (point <= 0) return $"{sign}0.{new string('0', -point)}{digits}";
        if (point >= digits.Length) return $"{sign}{digits}{new string('0', point - digits.Length)}.0";
        return $"{sign}{digits[..point]}.{digits[point..]}";
    }
}
