using System.Globalization;
using System.Text;

namespace SharpInfer.Templates;

/// <summary>A conversion: flags, width, precision and type, shared by %-formatting and <c>str.format</c>.</summary>
internal sealed class FormatSpec
{
    public char Fill = ' ';
    public char Align = '\0';
    public char Sign = '-';
    public bool Alternate;
    public bool ZeroPad;
    public bool Grouping;
    public int Width = -1;
    public int Precision = -1;
    public char Type = '\0';

    private const int MaxWidth = 1 << 20;

    /// <summary>Parses <c>[flags][width][.precision][length]type</c> after a '%'; <c>*</c> takes the width or precision from the arguments.</summary>
    public static FormatSpec ParsePrintf(string f, ref int i, Func<object?> nextArgument)
    {
        var spec = new FormatSpec();
        for (; i < f.Length && f[i] is '-' or '+' or ' ' or '#' or '0'; i++)
        {
            switch (f[i])
            {
                case '-': spec.Align = '<'; break;
                case '+': spec.Sign = '+'; break;
                case ' ': if (spec.Sign != '+') spec.Sign = ' '; break;
                case '#': spec.Alternate = true; break;
                case '0': spec.ZeroPad = true; break;
            }
        }
        spec.Width = ReadNumber(f, ref i, nextArgument);
        if (spec.Width < -1)
        {
            spec.Align = '<';
            spec.Width = -spec.Width;
        }
        if (i < f.Length && f[i] == '.')
        {
            i++;
            spec.Precision = Math.Max(0, ReadNumber(f, ref i, nextArgument));
        }
        while (i < f.Length && f[i] is 'h' or 'l' or 'L') i++;
        if (i >= f.Length) throw new TemplateException("incomplete format");
        spec.Type = f[i];
        if (spec.Align == '<') spec.ZeroPad = false;
        if (spec.Align == '\0') spec.Align = '>';
        return spec;
    }

    private static int ReadNumber(string f, ref int i, Func<object?> nextArgument)
    {
        if (i < f.Length && f[i] == '*')
        {
            i++;
            return (int)Math.Clamp(Filters.ToInteger(nextArgument(), "format"), -MaxWidth, MaxWidth);
        }
        int start = i;
        while (i < f.Length && char.IsAsciiDigit(f[i])) i++;
        if (i == start) return -1;
        return int.TryParse(f.AsSpan(start, i - start), out int n) && n <= MaxWidth ? n : throw new TemplateException("format width too large");
    }

    /// <summary>Formats one value by this conversion.</summary>
    public string Apply(object? value)
    {
        string body = Type switch
        {
            's' => PyFormat.Str(value),
            'r' or 'a' => PyFormat.Repr(value),
            'c' => value is string s ? s : char.ConvertFromUtf32((int)Filters.ToInteger(value, "%c")),
            'd' or 'i' or 'u' => Signed(IntegerOf(value).ToString(CultureInfo.InvariantCulture)),
            'x' or 'X' or 'o' or 'b' => Radix(IntegerOf(value)),
            'f' or 'F' or 'e' or 'E' or 'g' or 'G' or '%' => Signed(FloatText(value)),
            '\0' => PyFormat.Str(value),
            _ => throw new TemplateException($"unsupported format character '{Type}'"),
        };
        if (Type is 's' or 'r' or 'a' && Precision >= 0 && body.Length > Precision) body = body[..Precision];
        return Pad(body);
    }

    private static long IntegerOf(object? value)
    {
        if (value is double d) return (long)Math.Truncate(d);
        if (PyOps.TryInteger(value, out long l)) return l;
        throw new TemplateException($"%d format: a real number is required, not {PyOps.TypeName(value)}");
    }

    private string Signed(string digits)
    {
        bool negative = digits.StartsWith('-');
        string magnitude = negative ? digits[1..] : digits;
        if (Grouping) magnitude = Group(magnitude);
        return (negative ? "-" : Sign is '+' or ' ' ? Sign.ToString() : "") + magnitude;
    }

    private static string Group(string magnitude)
    {
        int dot = magnitude.IndexOfAny(['.', 'e', 'E', '%']);
        string whole = dot >= 0 ? magnitude[..dot] : magnitude, rest = dot >= 0 ? magnitude[dot..] : "";
        if (!whole.All(char.IsAsciiDigit)) return magnitude;
        var sb = new StringBuilder();
        for (int k = 0; k < whole.Length; k++)
        {
            if (k > 0 && (whole.Length - k) % 3 == 0) sb.Append(',');
            sb.Append(whole[k]);
        }
        return sb + rest;
    }

    private string Radix(long value)
    {
        string digits = Type switch
        {
            'x' => Convert.ToString(Math.Abs(value), 16),
            'X' => Convert.ToString(Math.Abs(value), 16).ToUpperInvariant(),
            'o' => Convert.ToString(Math.Abs(value), 8),
            _ => Convert.ToString(Math.Abs(value), 2),
        };
        if (Alternate) digits = (Type switch { 'x' => "0x", 'X' => "0X", 'o' => "0o", _ => "0b" }) + digits;
        return Signed((value < 0 ? "-" : "") + digits);
    }

    private string FloatText(object? value)
    {
        if (!PyOps.IsNumber(value)) throw new TemplateException($"must be real number, not {PyOps.TypeName(value)}");
        double d = PyOps.ToDouble(value);
        int precision = Precision < 0 ? 6 : Precision;
        if (double.IsNaN(d)) return char.IsUpper(Type) ? "NAN" : "nan";
        if (double.IsInfinity(d)) return (d < 0 ? "-" : "") + (char.IsUpper(Type) ? "INF" : "inf");
        switch (Type)
        {
            case 'f' or 'F':
                return d.ToString("F" + precision, CultureInfo.InvariantCulture);
            case '%':
                return (d * 100).ToString("F" + precision, CultureInfo.InvariantCulture) + "%";
            case 'e' or 'E':
                return Scientific(d, precision, Type);
            default:
                return General(d, precision == 0 ? 1 : precision);
        }
    }

    private static string Scientific(double d, int precision, char type)
    {
        string s = d.ToString((type == 'E' ? "E" : "e") + precision, CultureInfo.InvariantCulture);
        // .NET writes three exponent digits; Python at least two.
        int e = s.IndexOfAny(['e', 'E']);
        string exponent = s[(e + 2)..].TrimStart('0').PadLeft(2, '0');
        return s[..(e + 2)] + exponent;
    }

    /// <summary>Python's 'g': scientific when the exponent is below -4 or at least the precision, trailing zeros removed.</summary>
    private string General(double d, int precision)
    {
        if (d == 0) return Alternate ? "0." + new string('0', precision - 1) : (double.IsNegative(d) ? "-0" : "0");
        string sci = Scientific(d, precision - 1, 'e');
        int exponent = int.Parse(sci[(sci.IndexOf('e') + 1)..], CultureInfo.InvariantCulture);
        string text = exponent < -4 || exponent >= precision
            ? sci
            : d.ToString("F" + Math.Max(0, precision - 1 - exponent), CultureInfo.InvariantCulture);
        if (!Alternate)
        {
            int e = text.IndexOf('e');
            string mantissa = e >= 0 ? text[..e] : text, tail = e >= 0 ? text[e..] : "";
            if (mantissa.Contains('.')) mantissa = mantissa.TrimEnd('0').TrimEnd('.');
            text = mantissa + tail;
        }
        return Type == 'G' ? text.ToUpperInvariant() : text;
    }

    private string Pad(string body)
    {
        if (Width <= body.Length) return body;
        int missing = Width - body.Length;
        if (ZeroPad && Align is '\0' or '>' or '=' && Type is not ('s' or 'r' or 'a' or 'c'))
        {
            int signLength = body.Length > 0 && body[0] is '-' or '+' or ' ' ? 1 : 0;
            if (body.Length > signLength + 1 && body[signLength] == '0' && body[signLength + 1] is 'x' or 'X' or 'o' or 'b') signLength += 2;
            return body[..signLength] + new string('0', missing) + body[signLength..];
        }
        return Align switch
        {
            '<' => body + new string(Fill, missing),
            '^' => new string(Fill, missing / 2) + body + new string(Fill, missing - missing / 2),
            '=' => body.Length > 0 && body[0] is '-' or '+' or ' ' ? body[0] + new string(Fill, missing) + body[1..] : new string(Fill, missing) + body,
            _ => new string(Fill, missing) + body,
        };
    }
}
