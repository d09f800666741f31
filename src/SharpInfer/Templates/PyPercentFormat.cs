using System.Globalization;
using System.Text;

namespace SharpInfer.Templates;

/// <summary>Python's printf-style <c>"%s %d" % args</c> (also the <c>format</c> filter).</summary>
internal static class PyPercentFormat
{
    public static string Format(string format, object? args, TemplateLimits limits)
    {
        var positional = args is PyTuple t ? t.Items : [args];
        var mapping = args as PyDict;
        int next = 0;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%')
            {
                sb.Append(c);
                continue;
            }
            if (++i >= format.Length) throw new TemplateException("incomplete format");
            object? value;
            string? key = null;
            if (format[i] == '(')
            {
                int close = format.IndexOf(')', i);
                if (close < 0) throw new TemplateException("incomplete format key");
                key = format[(i + 1)..close];
                i = close + 1;
            }
            var spec = FormatSpec.ParsePrintf(format, ref i, () => NextArgument(positional, ref next));
            if (spec.Type == '%')
            {
                sb.Append('%');
                continue;
            }
            if (key is not null)
            {
                if (mapping is null) throw new TemplateException("format requires a mapping");
                value = mapping.TryGet(key, out var v) ? v : throw new TemplateException($"KeyError: '{key}'");
            }
            else
            {
                value = NextArgument(positional, ref next);
            }
            sb.Append(spec.Apply(value));
            if (sb.Length > limits.MaxOutputChars) throw Limits.StringTooLong(limits.MaxOutputChars);
        }
        if (mapping is null && next < positional.Length) throw new TemplateException("not all arguments converted during string formatting");
        return sb.ToString();
    }

    private static object? NextArgument(object?[] positional, ref int next)
    {
        if (next >= positional.Length) throw new TemplateException("not enough arguments for format string");
        return positional[next++];
    }
}
