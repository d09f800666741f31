using System.Text;

namespace SharpInfer.Templates;

/// <summary>Python's <c>str.format</c>: <c>{}</c>, <c>{0}</c>, <c>{name}</c>, <c>{x.attr}</c>, <c>{x[key]}</c>, <c>!r</c>/<c>!s</c>, and format specs.</summary>
internal static class PyStringFormat
{
    public static string Format(string format, CallArgs args, TemplateLimits limits)
    {
        var sb = new StringBuilder();
        int auto = 0;
        bool? manual = null;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c == '}')
            {
                if (i + 1 < format.Length && format[i + 1] == '}') i++;
                else throw new TemplateException("Single '}' encountered in format string");
                sb.Append('}');
                continue;
            }
            if (c != '{')
            {
                sb.Append(c);
                continue;
            }
            if (i + 1 < format.Length && format[i + 1] == '{')
            {
                sb.Append('{');
                i++;
                continue;
            }
            int close = FindClose(format, i);
            string field = format[(i + 1)..close];
            i = close;
            sb.Append(FormatField(field, args, ref auto, ref manual, limits));
            if (sb.Length > limits.MaxOutputChars) throw Limits.StringTooLong(limits.MaxOutputChars);
        }
        return sb.ToString();
    }

    private static int FindClose(string format, int open)
    {
        int depth = 0;
        for (int i = open + 1; i < format.Length; i++)
        {
            if (format[i] == '{') depth++;
            else if (format[i] == '}' && depth-- == 0) return i;
        }
        throw new TemplateException("expected '}' before end of string");
    }

    private static string FormatField(string field, CallArgs args, ref int auto, ref bool? manual, TemplateLimits limits)
    {
        string spec = "";
        int colon = IndexOutsideBrackets(field, ':');
        if (colon >= 0)
        {
            spec = Format(field[(colon + 1)..], args, limits);
            field = field[..colon];
        }
        char conversion = '\0';
        int bang = IndexOutsideBrackets(field, '!');
        if (bang >= 0)
        {
            if (bang + 2 != field.Length) throw new TemplateException("expected ':' after conversion specifier");
            conversion = field[bang + 1];
            field = field[..bang];
        }
        object? value = Resolve(field, args, ref auto, ref manual);
        value = conversion switch
        {
            '\0' => value,
            's' => PyFormat.Str(value),
            'r' or 'a' => PyFormat.Repr(value),
            _ => throw new TemplateException($"Unknown conversion specifier {conversion}"),
        };
        return ApplySpec(value, spec);
    }

    private static int IndexOutsideBrackets(string field, char target)
    {
        bool inBracket = false;
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '[') inBracket = true;
            else if (field[i] == ']') inBracket = false;
            else if (field[i] == target && !inBracket) return i;
        }
        return -1;
    }

    private static object? Resolve(string field, CallArgs args, ref int auto, ref bool? manual)
    {
        int end = 0;
        while (end < field.Length && field[end] is not '.' and not '[') end++;
        string head = field[..end];
        object? value;
        if (head.Length == 0 || head.All(char.IsAsciiDigit))
        {
            bool isManual = head.Length > 0;
            if (manual is { } m && m != isManual)
            {
                throw new TemplateException(isManual ? "cannot switch from automatic field numbering to manual field specification" : "cannot switch from manual field specification to automatic field numbering");
            }
            manual = isManual;
            int index = isManual ? int.Parse(head) : auto++;
            if (index >= args.Positional.Count) throw new TemplateException($"Replacement index {index} out of range for positional args tuple");
            value = args.Positional[index];
        }
        else
        {
            var match = args.Keywords.FirstOrDefault(kv => kv.Key == head);
            if (match.Key is null) throw new TemplateException($"KeyError: '{head}'");
            value = match.Value;
        }
        while (end < field.Length)
        {
            if (field[end] == '.')
            {
                int next = end + 1;
                while (next < field.Length && field[next] is not '.' and not '[') next++;
                value = PyAccess.GetAttribute(value, field[(end + 1)..next]);
                end = next;
            }
            else
            {
                int close = field.IndexOf(']', end);
                if (close < 0) throw new TemplateException("Missing ']' in format string");
                string key = field[(end + 1)..close];
                value = PyAccess.GetItem(value, key.All(char.IsAsciiDigit) && key.Length > 0 ? long.Parse(key) : key);
                end = close + 1;
            }
        }
        return value;
    }

    /// <summary>Applies a format spec <c>[[fill]align][sign][#][0][width][,][.precision][type]</c>.</summary>
    private static string ApplySpec(object? value, string spec)
    {
        if (spec.Length == 0) return PyFormat.Str(value);
        var f = new FormatSpec();
        int i = 0;
        if (spec.Length >= 2 && spec[1] is '<' or '>' or '^' or '=')
        {
            f.Fill = spec[0];
            f.Align = spec[1];
            i = 2;
        }
        else if (spec[0] is '<' or '>' or '^' or '=')
        {
            f.Align = spec[0];
            i = 1;
        }
        if (i < spec.Length && spec[i] is '+' or '-' or ' ') f.Sign = spec[i++];
        if (i < spec.Length && spec[i] == '#') { f.Alternate = true; i++; }
        if (i < spec.Length && spec[i] == '0') { f.ZeroPad = f.Align == '\0'; if (f.Align == '\0') f.Fill = '0'; i++; }
        int start = i;
        while (i < spec.Length && char.IsAsciiDigit(spec[i])) i++;
        if (i > start) f.Width = int.TryParse(spec.AsSpan(start, i - start), out int w) && w <= 1 << 20 ? w : throw new TemplateException("format width too large");
        if (i < spec.Length && spec[i] is ',' or '_') { f.Grouping = true; i++; }
        if (i < spec.Length && spec[i] == '.')
        {
            start = ++i;
            while (i < spec.Length && char.IsAsciiDigit(spec[i])) i++;
            f.Precision = int.TryParse(spec.AsSpan(start, i - start), out int p) && p <= 1 << 10 ? p : throw new TemplateException("format precision invalid");
        }
        if (i < spec.Length) f.Type = spec[i++];
        if (i != spec.Length) throw new TemplateException($"Invalid format specifier '{spec}'");
        bool numeric = PyOps.IsNumber(value) && value is not bool;
        if (f.Type == '\0')
        {
            f.Type = value is double ? (f.Precision >= 0 ? 'g' : '\0') : numeric ? 'd' : 's';
            if (f.Type == '\0') return f.Width > 0 || f.Sign != '-' ? WithDefaultAlign(f, PyFormat.Float((double)value!), numeric) : PyFormat.Float((double)value!);
        }
        if (f.Type == 'd' && value is double) throw new TemplateException("Unknown format code 'd' for object of type 'float'");
        if (f.Type == 's' && numeric) throw new TemplateException($"Unknown format code 's' for object of type '{PyOps.TypeName(value)}'");
        if (f.Align == '\0') f.Align = numeric ? '>' : '<';
        return f.Apply(value);
    }

    private static string WithDefaultAlign(FormatSpec f, string text, bool numeric)
    {
        if (f.Align == '\0') f.Align = numeric ? '>' : '<';
        f.Type = 's';
        if (f.Sign == '+' && !text.StartsWith('-')) text = "+" + text;
        return f.Apply(text);
    }
}
