namespace SharpInfer.Templates;

internal static partial class PyOps
{
    private static readonly Dictionary<BinaryOp, string> Symbols = new()
    {
        [BinaryOp.Add] = "+", [BinaryOp.Subtract] = "-", [BinaryOp.Multiply] = "*", [BinaryOp.Divide] = "/",
        [BinaryOp.FloorDivide] = "//", [BinaryOp.Modulo] = "%", [BinaryOp.Power] = "**",
    };

    /// <summary>A binary arithmetic operator with Python's rules (integers stay exact; <c>/</c> gives a float).</summary>
    public static object? Binary(BinaryOp op, object? a, object? b, TemplateLimits limits)
    {
        if (a is Undefined ua) throw ua.Error();
        if (b is Undefined ub) throw ub.Error();
        if (IsNumber(a) && IsNumber(b)) return Numeric(op, a, b);
        if (a is Markup || b is Markup) return MarkupBinary(op, a, b, limits);
        switch (op)
        {
            case BinaryOp.Add: return Add(a, b, limits);
            case BinaryOp.Multiply: return Multiply(a, b, limits);
            case BinaryOp.Modulo when a is string format: return PyPercentFormat.Format(format, b, limits);
        }
        throw new TemplateException($"unsupported operand type(s) for {Symbols[op]}: '{TypeName(a)}' and '{TypeName(b)}'");
    }

    /// <summary>markupsafe's operators: a str added to Markup is escaped first, and the result stays Markup.</summary>
    private static object? MarkupBinary(BinaryOp op, object? a, object? b, TemplateLimits limits)
    {
        switch (op)
        {
            case BinaryOp.Add when a is string or Markup && b is string or Markup:
                return new Markup((string)Add(Markup.Escape(a).Text, Markup.Escape(b).Text, limits)!);
            case BinaryOp.Multiply:
                return Markup.Wrap(Multiply(Markup.Plain(a), Markup.Plain(b), limits));
            case BinaryOp.Modulo when a is Markup format:
                var escaped = b switch
                {
                    PyTuple t => (object?)new PyTuple([.. t.Items.Select(EscapeArgument)]),
                    PyDict d => EscapeValues(d),
                    _ => EscapeArgument(b),
                };
                return new Markup(PyPercentFormat.Format(format.Text, escaped, limits));
        }
        throw new TemplateException($"unsupported operand type(s) for {Symbols[op]}: '{TypeName(a)}' and '{TypeName(b)}'");
    }

    private static object? EscapeArgument(object? value) => value is string or Markup ? Markup.Escape(value).Text : value;

    private static PyDict EscapeValues(PyDict dict)
    {
        var copy = new PyDict();
        foreach (var (key, value) in dict.Items) copy.Set(key, EscapeArgument(value));
        return copy;
    }

    private static object? Add(object? a, object? b, TemplateLimits limits)
    {
        switch (a)
        {
            case string s when b is string t:
                if ((long)s.Length + t.Length > limits.MaxOutputChars) throw Limits.StringTooLong(limits.MaxOutputChars);
                return s + t;
            case string:
                throw new TemplateException($"can only concatenate str (not \"{TypeName(b)}\") to str");
            case PyTuple x when b is PyTuple y:
                return new PyTuple([.. x.Items, .. y.Items]);
            case List<object?> x when b is List<object?> y:
                if ((long)x.Count + y.Count > limits.MaxItems) throw Limits.TooManyItems(limits.MaxItems);
                return new List<object?>([.. x, .. y]);
            case List<object?> or PyTuple:
                throw new TemplateException($"can only concatenate {TypeName(a)} (not \"{TypeName(b)}\") to {TypeName(a)}");
        }
        throw new TemplateException($"unsupported operand type(s) for +: '{TypeName(a)}' and '{TypeName(b)}'");
    }

    private static object? Multiply(object? a, object? b, TemplateLimits limits)
    {
        if (TryInteger(a, out long n) && b is not long and not bool) (a, b) = (b, a);
        if (!TryInteger(b, out n)) throw new TemplateException($"can't multiply sequence by non-int of type '{TypeName(b)}'");
        n = Math.Max(0, n);
        switch (a)
        {
            case string s:
                if (s.Length * (double)n > limits.MaxOutputChars) throw Limits.StringTooLong(limits.MaxOutputChars);
                return string.Concat(Enumerable.Repeat(s, (int)n));
            case List<object?> list:
                if (list.Count * (double)n > limits.MaxItems) throw Limits.TooManyItems(limits.MaxItems);
                return Enumerable.Range(0, (int)n).SelectMany(_ => list).ToList();
            case PyTuple t:
                if (t.Count * (double)n > limits.MaxItems) throw Limits.TooManyItems(limits.MaxItems);
                return new PyTuple([.. Enumerable.Range(0, (int)n).SelectMany(_ => t.Items)]);
        }
        throw new TemplateException($"unsupported operand type(s) for *: '{TypeName(a)}' and '{TypeName(b)}'");
    }

    private static object Numeric(BinaryOp op, object? a, object? b)
    {
        if (op == BinaryOp.Divide)
        {
            double divisor = ToDouble(b);
            if (divisor == 0) throw new TemplateException("division by zero");
            return ToDouble(a) / divisor;
        }
        if (TryInteger(a, out long x) && TryInteger(b, out long y)) return Integer(op, x, y);
        double p = ToDouble(a), q = ToDouble(b);
        switch (op)
        {
            case BinaryOp.Add: return p + q;
            case BinaryOp.Subtract: return p - q;
            case BinaryOp.Multiply: return p * q;
            case BinaryOp.FloorDivide:
                if (q == 0) throw new TemplateException("float floor division by zero");
                return Math.Floor(p / q);
            case BinaryOp.Modulo:
                if (q == 0) throw new TemplateException("float modulo");
                double r = p % q;
                return r != 0 && (r < 0) != (q < 0) ? r + q : r;
            default:
                return Math.Pow(p, q);
        }
    }

    private static object Integer(BinaryOp op, long x, long y)
    {
        try
        {
            switch (op)
            {
                case BinaryOp.Add: return checked(x + y);
                case BinaryOp.Subtract: return checked(x - y);
                case BinaryOp.Multiply: return checked(x * y);
                case BinaryOp.FloorDivide:
                    if (y == 0) throw new TemplateException("integer division or modulo by zero");
                    return FloorDiv(x, y);
                case BinaryOp.Modulo:
                    if (y == 0) throw new TemplateException("integer division or modulo by zero");
                    return x - checked(FloorDiv(x, y) * y);
                default:
                    return Power(x, y);
            }
        }
        catch (OverflowException)
        {
            throw new TemplateException("integer overflow (integers are 64-bit here)");
        }
    }

    private static long FloorDiv(long x, long y)
    {
        long q = x / y;
        return (x % y != 0) && ((x < 0) != (y < 0)) ? q - 1 : q;
    }

    private static object Power(long x, long y)
    {
        if (y < 0) return Math.Pow(x, y);
        long result = 1;
        for (long i = 0; i < y; i++)
        {
            result = checked(result * x);
            if (result == 0 || result == 1 && x == 1) break;
            if (x == -1) return y % 2 == 0 ? 1L : -1L;
        }
        return result;
    }

    /// <summary>Unary minus or plus.</summary>
    public static object Unary(bool negate, object? value)
    {
        if (value is Undefined u) throw u.Error();
        if (TryInteger(value, out long l))
        {
            try
            {
                return negate ? checked(-l) : l;
            }
            catch (OverflowException)
            {
                throw new TemplateException("integer overflow (integers are 64-bit here)");
            }
        }
        if (value is double d) return negate ? -d : d;
        throw new TemplateException($"bad operand type for unary {(negate ? "-" : "+")}: '{TypeName(value)}'");
    }
}
