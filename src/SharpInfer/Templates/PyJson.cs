using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpInfer.Templates;

/// <summary>
/// JSON in and out: request JSON becomes template values, and <c>tojson</c> writes values exactly as Python's
/// <c>json.dumps</c> does with Hugging Face's defaults (<c>", "</c> and <c>": "</c> separators, or <c>","</c> with an
/// indent; non-ASCII kept unless <c>ensure_ascii</c>; no HTML escaping).
/// </summary>
internal static class PyJson
{
    private const int MaxDepth = 200;

    /// <summary>A JSON node as a template value: objects become dicts, arrays lists, integral numbers ints.</summary>
    public static object? FromNode(JsonNode? node, int depth = 0)
    {
        if (depth > MaxDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw new TemplateException("input JSON nested too deeply");
        switch (node)
        {
            case null: return null;
            case JsonObject obj:
                var dict = new PyDict();
                foreach (var (key, value) in obj) dict.Set(key, FromNode(value, depth + 1));
                return dict;
            case JsonArray array:
                return array.Select(item => FromNode(item, depth + 1)).ToList();
        }
        var scalar = node.AsValue();
        switch (scalar.GetValueKind())
        {
            case JsonValueKind.String: return scalar.GetValue<string>();
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.Null or JsonValueKind.Undefined: return null;
        }
        // Numbers by their JSON text, whatever CLR value backs the node: integers stay ints, the rest are floats.
        string text = scalar.ToJsonString();
        if (!text.AsSpan().ContainsAny('.', 'e', 'E') && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long integer)) return integer;
        return double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>How <c>tojson</c> writes.</summary>
    public sealed record Options(string? Indent, string ItemSeparator, string KeySeparator, bool SortKeys, bool EnsureAscii);

    public static string Dumps(object? value, Options options, int maxChars)
    {
        var sb = new StringBuilder();
        Write(sb, value, options, 0, maxChars);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? value, Options o, int level, int maxChars)
    {
        if (level > MaxDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw new TemplateException("value nested too deeply for tojson (a list that contains itself?)");
        if (sb.Length > maxChars) throw Limits.StringTooLong(maxChars);
        switch (value)
        {
            case null: sb.Append("null"); return;
            case bool b: sb.Append(b ? "true" : "false"); return;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
            case double d: sb.Append(FloatText(d)); return;
            case string s: WriteString(sb, s, o.EnsureAscii); return;
            case Markup m: WriteString(sb, m.Text, o.EnsureAscii); return;
            case PyDict dict: WriteObject(sb, dict, o, level, maxChars); return;
            case PyTuple or PyRange or List<object?>: WriteArray(sb, (IEnumerable<object?>)value, o, level, maxChars); return;
        }
        throw new TemplateException($"Object of type {PyOps.TypeName(value)} is not JSON serializable");
    }

    private static string FloatText(double d) =>
        double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyFormat.Float(d);

    private static void WriteArray(StringBuilder sb, IEnumerable<object?> items, Options o, int level, int maxChars)
    {
        var list = items.ToList();
        if (list.Count == 0)
        {
            sb.Append("[]");
            return;
        }
        sb.Append('[');
        for (int i = 0; i < list.Count; i++)
        {
            Separate(sb, o, level + 1, i == 0);
            Write(sb, list[i], o, level + 1, maxChars);
        }
        Close(sb, o, level, ']');
    }

    private static void WriteObject(StringBuilder sb, PyDict dict, Options o, int level, int maxChars)
    {
        var entries = dict.Items.Select(kv => (Key: KeyText(kv.Key), kv.Value)).ToList();
        if (entries.Count == 0)
        {
            sb.Append("{}");
            return;
        }
        if (o.SortKeys)
        {
            if (dict.Keys.Any(k => k is not string)) throw new TemplateException("'<' not supported between keys of different types (tojson with sort_keys)");
            entries = [.. entries.OrderBy(e => e.Key, Comparer<string>.Create(PyOps.CompareCodePoints))];
        }
        sb.Append('{');
        for (int i = 0; i < entries.Count; i++)
        {
            Separate(sb, o, level + 1, i == 0);
            WriteString(sb, entries[i].Key, o.EnsureAscii);
            sb.Append(o.KeySeparator);
            Write(sb, entries[i].Value, o, level + 1, maxChars);
        }
        Close(sb, o, level, '}');
    }

    /// <summary>JSON object keys: str as is, numbers, booleans and None converted as json.dumps does.</summary>
    private static string KeyText(object? key) => key switch
    {
        string s => s,
        Markup m => m.Text,
        null => "null",
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatText(d),
        _ => throw new TemplateException($"keys must be str, int, float, bool or None, not {PyOps.TypeName(key)}"),
    };

    private static void Separate(StringBuilder sb, Options o, int level, bool first)
    {
        if (!first) sb.Append(o.ItemSeparator);
        if (o.Indent is not null) AppendNewline(sb, o.Indent, level);
    }

    private static void Close(StringBuilder sb, Options o, int level, char bracket)
    {
        if (o.Indent is not null) AppendNewline(sb, o.Indent, level);
        sb.Append(bracket);
    }

    private static void AppendNewline(StringBuilder sb, string indent, int level)
    {
        sb.Append('\n');
        for (int i = 0; i < level; i++) sb.Append(indent);
    }

    /// <summary>A JSON string literal as json.dumps writes it.</summary>
    public static void WriteString(StringBuilder sb, string s, bool ensureAscii)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < ' ' || (ensureAscii && c > '~')) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
