using System.Globalization;

namespace SharpInfer.Templates;

internal static partial class Filters
{
    private static object? Abs(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("abs", [], []);
        if (PyOps.TryInteger(value, out long l))
        {
            return l == long.MinValue ? throw new TemplateException("integer overflow (integers are 64-bit here)") : Math.Abs(l);
        }
        if (value is double d) return Math.Abs(d);
        throw new TemplateException($"bad operand type for abs(): '{PyOps.TypeName(value)}'");
    }

    /// <summary><c>int(default=0, base=10)</c>: strings in the base (or as a float), numbers truncated, anything else the default.</summary>
    private static object? Int(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("int", ["default", "base"], [0L, 10L]);
        long numberBase = ToInteger(a[1], "int");
        switch (value)
        {
            case bool b: return b ? 1L : 0L;
            case long l: return l;
            case double d when double.IsFinite(d) && Math.Abs(d) < 9.2e18: return (long)Math.Truncate(d);
            case double d when double.IsNaN(d): return a[0];
            case double: throw new TemplateException("cannot convert float infinity to integer");
            case string s:
                if (TryParseInteger(s, (int)numberBase, out long parsed)) return parsed;
                if (TryParseFloat(s, out double f) && double.IsFinite(f) && Math.Abs(f) < 9.2e18) return (long)Math.Truncate(f);
                return a[0];
        }
        return a[0];
    }

    private static object? Float(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("float", ["default"], [0.0]);
        return value switch
        {
            bool b => b ? 1.0 : 0.0,
            long l => (double)l,
            double d => d,
            string s when TryParseFloat(s, out double f) => f,
            _ => a[0],
        };
    }

    /// <summary>Python's <c>int(str, base)</c>: surrounding whitespace, a sign, '_' between digits, a 0x/0o/0b prefix matching the base (or any with base 0).</summary>
    private static bool TryParseInteger(string text, int numberBase, out long value)
    {
        value = 0;
        string s = PyChars.Trim(text).ToLowerInvariant();
        bool negative = s.StartsWith('-');
        if (s.StartsWith('-') || s.StartsWith('+')) s = s[1..];
        int detected = s.StartsWith("0x") ? 16 : s.StartsWith("0o") ? 8 : s.StartsWith("0b") ? 2 : 0;
        if (detected != 0 && (numberBase == 0 || numberBase == detected))
        {
            s = s[2..].TrimStart('_');
            numberBase = detected;
        }
        if (numberBase == 0) numberBase = 10;
        if (numberBase is < 2 or > 36 || s.Length == 0 || s.StartsWith('_') || s.EndsWith('_') || s.Contains("__")) return false;
        try
        {
            foreach (char c in s.Replace("_", ""))
            {
                int digit = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetterLower(c) ? c - 'a' + 10 : 99;
                if (digit >= numberBase) return false;
                value = checked(value * numberBase + digit);
            }
        }
        catch (OverflowException)
        {
            return false;
        }
        if (negative) value = -value;
        return true;
    }

    /// <summary>Python's <c>float(str)</c>: decimal or scientific notation, inf/infinity/nan, surrounding whitespace.</summary>
    private static bool TryParseFloat(string text, out double value)
    {
        string s = PyChars.Trim(text).ToLowerInvariant().Replace("_", "");
        string unsigned = s.TrimStart('+', '-');
        if (unsigned is "inf" or "infinity" or "nan")
        {
            value = unsigned == "nan" ? double.NaN : s.StartsWith('-') ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }
        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && !s.Contains(',');
    }

    /// <summary><c>round(precision=0, method='common')</c>: 'common' is Python's round (half to even on the exact value); 'floor' and 'ceil' give floats.</summary>
    private static object? Round(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("round", ["precision", "method"], [0L, "common"]);
        long precision = ToInteger(a[0], "round");
        string method = PyFormat.Str(a[1]);
        if (method is not ("common" or "ceil" or "floor")) throw new TemplateException("method must be 'common', 'ceil' or 'floor'");
        if (!PyOps.IsNumber(value)) throw new TemplateException($"type {PyOps.TypeName(value)} doesn't define __round__ method");
        if (method == "common" && PyOps.TryInteger(value, out long integer) && precision >= 0) return integer;
        double d = PyOps.ToDouble(value);
        if (method == "common") return RoundHalfEven(d, (int)Math.Clamp(precision, -308, 308));
        double scale = Math.Pow(10, precision);
        return (method == "ceil" ? Math.Ceiling(d * scale) : Math.Floor(d * scale)) / scale;
    }

    /// <summary>Rounds half to even on the double's exact decimal value, as Python's <c>round(x, n)</c> does.</summary>
    private static double RoundHalfEven(double d, int digits)
    {
        if (!double.IsFinite(d) || digits > 300) return d;
        if (digits < 0)
        {
            double scale = Math.Pow(10, -digits);
            return Math.Round(d / scale, MidpointRounding.ToEven) * scale;
        }
        // .NET writes doubles exactly at any precision; 40 extra places settle every tie question for |d| >= 1e-300.
        string text = Math.Abs(d).ToString("F" + (digits + 40), CultureInfo.InvariantCulture);
        int point = text.IndexOf('.');
        string kept = text[..(point + 1 + digits)].TrimEnd('.');
        string rest = text[(point + 1 + digits)..];
        bool up = rest[0] > '5' || (rest[0] == '5' && (rest.AsSpan(1).ContainsAnyExcept('0') || IsOdd(kept)));
        double magnitude = double.Parse(kept, CultureInfo.InvariantCulture);
        if (up) magnitude += Math.Pow(10, -digits);
        magnitude = double.Parse(magnitude.ToString("F" + digits, CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return d < 0 ? -magnitude : magnitude;
    }

    private static bool IsOdd(string digits) => (digits[^1] - '0') % 2 == 1;
}
