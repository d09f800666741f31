using System.Globalization;
using System.Text;

namespace SharpInfer.Templates;

internal sealed partial class TemplateLexer
{
    /// <summary>
    /// Decodes the escape whose letter is at <paramref name="p"/> (Python's unicode-escape rules, which Jinja2 applies
    /// to string literals); unknown escapes keep their backslash. Returns the position after the escape.
    /// </summary>
    private int AppendEscape(StringBuilder value, int p, int line)
    {
        char e = _src[p];
        switch (e)
        {
            case '\n': return p + 1;
            case '\\' or '\'' or '"': value.Append(e); return p + 1;
            case 'a': value.Append('\a'); return p + 1;
            case 'b': value.Append('\b'); return p + 1;
            case 'f': value.Append('\f'); return p + 1;
            case 'n': value.Append('\n'); return p + 1;
            case 'r': value.Append('\r'); return p + 1;
            case 't': value.Append('\t'); return p + 1;
            case 'v': value.Append('\v'); return p + 1;
            case 'x': return AppendHexEscape(value, p + 1, 2, line);
            case 'u': return AppendHexEscape(value, p + 1, 4, line);
            case 'U': return AppendHexEscape(value, p + 1, 8, line);
            case 'N': throw new TemplateException("named unicode escapes (\\N{...}) are not supported", line);
        }
        if (e is >= '0' and <= '7')
        {
            int code = 0, n = 0;
            while (n < 3 && p < _src.Length && _src[p] is >= '0' and <= '7')
            {
                code = code * 8 + (_src[p] - '0');
                p++;
                n++;
            }
            value.Append((char)code);
            return p;
        }
        value.Append('\\').Append(e);
        return p + 1;
    }

    private int AppendHexEscape(StringBuilder value, int p, int digits, int line)
    {
        if (p + digits > _src.Length || !long.TryParse(_src.AsSpan(p, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long code))
        {
            throw new TemplateException($"truncated \\{_src[p - 1]} escape in a string literal", line);
        }
        if (code > 0x10FFFF) throw new TemplateException("illegal Unicode character in a string literal", line);
        if (code >= 0x10000) value.Append(char.ConvertFromUtf32((int)code));
        else value.Append((char)code);
        return p + digits;
    }
}
