using System.Collections;
using SharpInfer.Files;

namespace SharpInfer.Gguf;

/// <summary>
/// The key/value metadata of a GGUF file, in file order, with typed accessors. Integer accessors accept any
/// integer storage type whose value fits (writers disagree on u32 vs i32 for the same key).
/// </summary>
public sealed class GgufMetadata : IReadOnlyList<KeyValuePair<string, GgufValue>>
{
    private readonly List<KeyValuePair<string, GgufValue>> _entries = new();
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    /// <summary>Number of keys.</summary>
    public int Count => _entries.Count;

    /// <summary>The entry at <paramref name="index"/> in file order.</summary>
    public KeyValuePair<string, GgufValue> this[int index] => _entries[index];

    /// <summary>All keys in file order.</summary>
    public IEnumerable<string> Keys => _entries.Select(e => e.Key);

    /// <summary>Adds a key; returns false (and changes nothing) when the key is already present.</summary>
    public bool TryAdd(string key, GgufValue value)
    {
        if (_index.ContainsKey(key)) return false;
        _index[key] = _entries.Count;
        _entries.Add(new(key, value));
        return true;
    }

    /// <summary>Sets a key, replacing its value in place or appending it.</summary>
    public void Set(string key, GgufValue value)
    {
        if (_index.TryGetValue(key, out int i)) _entries[i] = new(key, value);
        else TryAdd(key, value);
    }

    /// <summary>Removes a key; returns whether it was present.</summary>
    public bool Remove(string key)
    {
        if (!_index.TryGetValue(key, out int i)) return false;
        _entries.RemoveAt(i);
        _index.Clear();
        for (int j = 0; j < _entries.Count; j++) _index[_entries[j].Key] = j;
        return true;
    }

    /// <summary>True when the key is present.</summary>
    public bool Contains(string key) => _index.ContainsKey(key);

    /// <summary>The value of a key, or null.</summary>
    public GgufValue? Find(string key) => _index.TryGetValue(key, out int i) ? _entries[i].Value : null;

    /// <summary>The value of a key; throws <see cref="KeyNotFoundException"/> naming the key when absent.</summary>
    public GgufValue Get(string key) => Find(key) ?? throw new KeyNotFoundException($"GGUF metadata has no key {SafeText.Quote(key)}");

    /// <summary>A u32-range integer value.</summary>
    public uint GetUInt32(string key) => Convert(key, v => checked((uint)v.AsInt64()));
    /// <summary>An i32-range integer value.</summary>
    public int GetInt32(string key) => Convert(key, v => checked((int)v.AsInt64()));
    /// <summary>A u64 integer value.</summary>
    public ulong GetUInt64(string key) => Convert(key, v => v.AsUInt64());
    /// <summary>An i64 integer value.</summary>
    public long GetInt64(string key) => Convert(key, v => v.AsInt64());
    /// <summary>A float value (f32 or f64 storage).</summary>
    public float GetFloat32(string key) => Convert(key, v => v.AsSingle());
    /// <summary>A boolean value.</summary>
    public bool GetBool(string key) => Convert(key, v => v.AsBool());
    /// <summary>A string value.</summary>
    public string GetString(string key) => Convert(key, v => v.AsString());
    /// <summary>An array value.</summary>
    public GgufArray GetArray(string key) => Convert(key, v => v.AsArray());

    /// <summary>An optional u32 value.</summary>
    public uint? TryGetUInt32(string key) => Find(key) is null ? null : GetUInt32(key);
    /// <summary>An optional i32 value.</summary>
    public int? TryGetInt32(string key) => Find(key) is null ? null : GetInt32(key);
    /// <summary>An optional float value.</summary>
    public float? TryGetFloat32(string key) => Find(key) is null ? null : GetFloat32(key);
    /// <summary>An optional boolean value.</summary>
    public bool? TryGetBool(string key) => Find(key) is null ? null : GetBool(key);
    /// <summary>An optional string value.</summary>
    public string? TryGetString(string key) => Find(key) is null ? null : GetString(key);
    /// <summary>An optional array value.</summary>
    public GgufArray? TryGetArray(string key) => Find(key) is null ? null : GetArray(key);

    private T Convert<T>(string key, Func<GgufValue, T> convert)
    {
        var value = Get(key);
        try
        {
            return convert(value);
        }
        catch (Exception e) when (e is InvalidCastException or OverflowException)
        {
            throw new InvalidCastException($"GGUF metadata key {SafeText.Quote(key)} holds a {GgufValueTypeInfo.ShortName(value.Type)} value ({SafeText.Escape(value.ToString())}) that cannot be read as {Describe(typeof(T))}", e);
        }
    }

    /// <summary>What a reader asked for, in the words messages use (never a .NET type name).</summary>
    private static string Describe(Type type) => type == typeof(string) ? "a string"
        : type == typeof(bool) ? "a boolean"
        : type == typeof(float) || type == typeof(double) ? "a number"
        : type == typeof(GgufArray) ? "an array"
        : type == typeof(uint) || type == typeof(ulong) ? "a non-negative integer"
        : "an integer";

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, GgufValue>> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
