using System.Text.Json;
using System.Text.Json.Nodes;

namespace SharpInfer.Server.Api;

/// <summary>
/// Typed, range-checked access to the fields of a request object. A field that is absent or null gives null; one of
/// the wrong type or out of range is a 400 naming it. Fields the server does not know are ignored, as OpenAI's are.
/// </summary>
internal sealed class RequestFields(JsonObject body)
{
    public JsonObject Body { get; } = body;

    public bool Has(string name) => Body[name] is not null;

    public JsonNode? Node(string name) => Body[name];

    public bool? Bool(string name) => Bool(Body[name], name);

    public static bool? Bool(JsonNode? node, string name) => node switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.True => true,
        JsonValue v when v.GetValueKind() == JsonValueKind.False => false,
        _ => throw ApiException.Invalid(name, $"'{name}' must be true or false"),
    };

    public string? String(string name, int maxLength = int.MaxValue) => String(Body[name], name, maxLength);

    public static string? String(JsonNode? node, string name, int maxLength = int.MaxValue)
    {
        if (node is null) return null;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.String) throw ApiException.Invalid(name, $"'{name}' must be a string");
        string s = v.GetValue<string>();
        if (s.Length > maxLength) throw ApiException.Invalid(name, $"'{name}' is longer than {maxLength} characters");
        return s;
    }

    public long? Integer(string name, long min, long max) => Integer(Body[name], name, min, max);

    public static long? Integer(JsonNode? node, string name, long min, long max)
    {
        if (node is null) return null;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue(out long value))
        {
            throw ApiException.Invalid(name, $"'{name}' must be an integer");
        }
        if (value < min || value > max) throw ApiException.Invalid(name, $"'{name}' must be within {min}..{max} (got {value})");
        return value;
    }

    public int? Int(string name, int min, int max) => (int?)Integer(name, min, max);

    public double? Number(string name, double min, double max) => Number(Body[name], name, min, max);

    public static double? Number(JsonNode? node, string name, double min, double max)
    {
        if (node is null) return null;
        if (node is not JsonValue v || v.GetValueKind() != JsonValueKind.Number || !v.TryGetValue(out double value) || !double.IsFinite(value))
        {
            throw ApiException.Invalid(name, $"'{name}' must be a number");
        }
        if (value < min || value > max) throw ApiException.Invalid(name, $"'{name}' must be within {min}..{max} (got {value})");
        return value;
    }

    public JsonArray? Array(string name)
    {
        var node = Body[name];
        if (node is null) return null;
        return node as JsonArray ?? throw ApiException.Invalid(name, $"'{name}' must be an array");
    }

    public JsonObject? Object(string name)
    {
        var node = Body[name];
        if (node is null) return null;
        return node as JsonObject ?? throw ApiException.Invalid(name, $"'{name}' must be an object");
    }

    /// <summary>A list of token ids, each within the vocabulary.</summary>
    public static int[] TokenIds(JsonArray array, string name, int vocab)
    {
        var ids = new int[array.Count];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = (int)(Integer(array[i], name, 0, vocab - 1) ?? throw ApiException.Invalid(name, $"'{name}' must hold token ids, not null"));
        }
        return ids;
    }
}
