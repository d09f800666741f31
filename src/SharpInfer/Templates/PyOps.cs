using System.Runtime.CompilerServices;
using System.Text;

namespace SharpInfer.Templates;

/// <summary>Python's semantics for truth, equality, ordering, membership, length and iteration of template values.</summary>
internal static partial class PyOps
{
    /// <summary>Python's name of a value's type, as error messages give it.</summary>
    public static string TypeName(object? value) => value switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        Markup => "Markup",
        PyTuple => "tuple",
        PyRange => "range",
        IList<object?> => "list",
        PyDict => "dict",
        Undefined => "Undefined",
        TemplateNamespace => "Namespace",
        LoopContext => "LoopContext",
        PyCallable => "function",
        _ => value.GetType().Name,
    };

    /// <summary>Python truthiness.</summary>
    public static bool IsTrue(object? value) => Markup.Plain(value) switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        IReadOnlyList<object?> t => t.Count > 0,
        IList<object?> list => list.Count > 0,
        PyDict dict => dict.Count > 0,
        _ => true,
    };

    public static bool IsNumber(object? value) => value is long or double or bool;

    /// <summary>Numbers as doubles (bool counts as 0/1, as in Python).</summary>
    public static double ToDouble(object? value) => value switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new InvalidCastException(),
    };

    /// <summary>An integer operand: int or bool.</summary>
    public static bool TryInteger(object? value, out long result)
    {
        switch (value)
        {
            case long l: result = l; return true;
            case bool b: result = b ? 1 : 0; return true;
            default: result = 0; return false;
        }
    }

    /// <summary>Python <c>==</c>.</summary>
    public static bool AreEqual(object? a, object? b) => AreEqual(a, b, 0);

    private static bool AreEqual(object? a, object? b, int depth)
    {
        if (ReferenceEquals(a, b)) return true;
        a = Markup.Plain(a);
        b = Markup.Plain(b);
        if (depth > 200 || !RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw new TemplateException("values nested too deeply to compare");
        if (IsNumber(a) && IsNumber(b))
        {
            return TryInteger(a, out long x) && TryInteger(b, out long y) ? x == y : ToDouble(a) == ToDouble(b);
        }
        switch (a)
        {
            case null: return b is null;
            case string s: return b is string t && string.Equals(s, t, StringComparison.Ordinal);
            case Undefined: return b is Undefined;
            case PyTuple ta: return b is PyTuple tb && SequenceEqual(ta, tb, depth);
            case PyRange ra: return b is PyRange rb && SequenceEqual(ra, rb, depth);
            case IList<object?> la: return b is IList<object?> lb && SequenceEqual(la, lb, depth);
            case PyDict da:
                if (b is not PyDict db || da.Count != db.Count) return false;
                foreach (var (key, value) in da.Items)
                {
                    if (!db.TryGet(key, out var other) || !AreEqual(value, other, depth + 1)) return false;
                }
                return true;
            default: return false;
        }
    }

    private static bool SequenceEqual(IEnumerable<object?> a, IEnumerable<object?> b, int depth)
    {
        var x = a.ToList();
        var y = b.ToList();
        if (x.Count != y.Count) return false;
        for (int i = 0; i < x.Count; i++)
        {
            if (!AreEqual(x[i], y[i], depth + 1)) return false;
        }
        return true;
    }

    /// <summary>Python ordering (<c>&lt;</c> and friends): numbers, strings by code point, sequences element-wise.</summary>
    public static int Compare(object? a, object? b, string op = "<")
    {
        a = Markup.Plain(a);
        b = Markup.Plain(b);
        if (a is Undefined ua) throw ua.Error();
        if (b is Undefined ub) throw ub.Error();
        if (IsNumber(a) && IsNumber(b))
        {
            if (TryInteger(a, out long x) && TryInteger(b, out long y)) return x.CompareTo(y);
            double dx = ToDouble(a), dy = ToDouble(b);
            return dx < dy ? -1 : dx > dy ? 1 : 0;
        }
        if (a is string s && b is string t) return CompareCodePoints(s, t);
        if ((a is PyTuple && b is PyTuple) || (a is IList<object?> && b is IList<object?>))
        {
            var x = ((IEnumerable<object?>)a).ToList();
            var y = ((IEnumerable<object?>)b!).ToList();
            for (int i = 0; i < Math.Min(x.Count, y.Count); i++)
            {
                if (!AreEqual(x[i], y[i])) return Compare(x[i], y[i], op);
            }
            return x.Count.CompareTo(y.Count);
        }
        throw new TemplateException($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    /// <summary>Ordinal comparison by code point (UTF-16 order differs for characters above the surrogate range).</summary>
    public static int CompareCodePoints(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            char x = a[i], y = b[i];
            if (x == y) continue;
            // Surrogates (astral code points) sort after every BMP character, above U+E000..U+FFFF.
            if (x >= 0xD800 && y >= 0xD800) return FixUp(x).CompareTo(FixUp(y));
            return x.CompareTo(y);
        }
        return a.Length.CompareTo(b.Length);
    }

    private static int FixUp(char c) => c >= 0xE000 ? c - 0x800 : c + 0x2000;

    /// <summary>Python <c>item in container</c>.</summary>
    public static bool Contains(object? container, object? item)
    {
        item = Markup.Plain(item);
        switch (Markup.Plain(container))
        {
            case string s:
                if (item is not string sub) throw new TemplateException($"'in <string>' requires string as left operand, not {TypeName(item)}");
                return s.Contains(sub, StringComparison.Ordinal);
            case PyDict dict: return dict.ContainsKey(item);
            case Undefined: return false;
            case IEnumerable<object?> items:
                foreach (var x in items)
                {
                    if (AreEqual(x, item)) return true;
                }
                return false;
            case TemplateNamespace ns: return item is string key && ns.Attributes.ContainsKey(key);
            default: throw new TemplateException($"argument of type '{TypeName(container)}' is not iterable");
        }
    }

    /// <summary>Python <c>len()</c> (Undefined has length 0).</summary>
    public static long Length(object? value) => Markup.Plain(value) switch
    {
        string s => CodePointCount(s),
        PyRange r => r.LongCount,
        IReadOnlyList<object?> t => t.Count,
        IList<object?> list => list.Count,
        PyDict dict => dict.Count,
        Undefined => 0,
        _ => throw new TemplateException($"object of type '{TypeName(value)}' has no len()"),
    };

    public static int CodePointCount(string s)
    {
        int n = s.Length;
        for (int i = 0; i + 1 < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && char.IsLowSurrogate(s[i + 1])) n--;
        }
        return n;
    }

    /// <summary>A string's code points as one-character strings, as Python iterates a str.</summary>
    public static List<string> CodePoints(string s)
    {
        var result = new List<string>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                result.Add(s.Substring(i, 2));
                i++;
            }
            else
            {
                result.Add(s[i].ToString());
            }
        }
        return result;
    }

    /// <summary>The items Python's <c>iter()</c> yields: list and tuple items, dict keys, string characters; Undefined is empty.</summary>
    public static IReadOnlyList<object?> Iterate(object? value) => Markup.Plain(value) switch
    {
        IReadOnlyList<object?> t => t,
        PyDict dict => dict.Keys.ToList(),
        string s => CodePoints(s).Cast<object?>().ToList(),
        Undefined => [],
        _ => throw new TemplateException($"'{TypeName(value)}' object is not iterable"),
    };

    public static bool IsIterable(object? value) => value is string or Markup or IReadOnlyList<object?> or List<object?> or PyDict or Undefined;

    /// <summary><c>str(a) + str(b) + ...</c> for <c>~</c>, within the size limit.</summary>
    public static string Concat(IEnumerable<string> parts, int maxChars)
    {
        var sb = new StringBuilder();
        foreach (string part in parts)
        {
            if ((long)sb.Length + part.Length > maxChars) throw Limits.StringTooLong(maxChars);
            sb.Append(part);
        }
        return sb.ToString();
    }
}
