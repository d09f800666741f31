using SharpInfer.Gguf;

namespace SharpInfer.Models;

/// <summary>
/// Reads an architecture's hyper-parameters (<c>{arch}.{key}</c>) from GGUF metadata with the checks every model
/// needs: integers must be positive and fit an int, floats must be finite and inside the range the caller gives.
/// Every problem is a <see cref="ModelLoadException"/> naming the key and the value.
/// </summary>
public sealed class HyperParameterReader
{
    /// <summary>Creates a reader for the keys of <paramref name="architecture"/>.</summary>
    public HyperParameterReader(GgufMetadata metadata, string architecture)
    {
        Metadata = metadata;
        Architecture = architecture;
    }

    /// <summary>The metadata.</summary>
    public GgufMetadata Metadata { get; }

    /// <summary>The architecture prefix of the keys.</summary>
    public string Architecture { get; }

    /// <summary>The full key name of <paramref name="key"/>.</summary>
    public string Key(string key) => $"{Architecture}.{key}";

    /// <summary>Whether the file has the key.</summary>
    public bool Has(string key) => Metadata.Find(Key(key)) is not null;

    /// <summary>A required positive integer.</summary>
    public int Int(string key) => Metadata.Find(Key(key)) is { } v ? PositiveInt(Key(key), v, allowZero: false)
        : throw new ModelLoadException($"metadata key '{Key(key)}' is missing");

    /// <summary>An optional positive integer (or <paramref name="fallback"/> when absent).</summary>
    public int Int(string key, int fallback) => Metadata.Find(Key(key)) is { } v ? PositiveInt(Key(key), v, allowZero: false) : fallback;

    /// <summary>An optional integer that may be zero (or <paramref name="fallback"/> when absent).</summary>
    public int IntOrZero(string key, int fallback) => Metadata.Find(Key(key)) is { } v ? PositiveInt(Key(key), v, allowZero: true) : fallback;

    /// <summary>
    /// An optional per-layer integer: a scalar applies to every layer, an array gives one value per layer.
    /// Returns null when the key is absent.
    /// </summary>
    public int[]? PerLayerInt(string key, int layers)
    {
        if (Metadata.Find(Key(key)) is not { } v) return null;
        if (v.Type != GgufValueType.Array) return Enumerable.Repeat(PositiveInt(Key(key), v, allowZero: true), layers).ToArray();
        int[] values;
        try
        {
            values = v.AsArray().ToInt32();
        }
        catch (Exception e) when (e is InvalidCastException or OverflowException)
        {
            throw new ModelLoadException($"metadata key '{Key(key)}' is not an array of integers", e);
        }
        if (values.Length != layers) throw new ModelLoadException($"metadata key '{Key(key)}' has {values.Length} values for {layers} layers");
        if (values.Any(x => x < 0)) throw new ModelLoadException($"metadata key '{Key(key)}' has a negative value");
        return values;
    }

    /// <summary>An optional float inside [<paramref name="min"/>, <paramref name="max"/>] (or <paramref name="fallback"/> when absent).</summary>
    public float Float(string key, float fallback, float min = float.MinValue, float max = float.MaxValue)
    {
        if (Metadata.Find(Key(key)) is not { } v) return fallback;
        float f;
        try
        {
            f = v.AsSingle();
        }
        catch (InvalidCastException e)
        {
            throw new ModelLoadException($"metadata key '{Key(key)}' is not a number ({v})", e);
        }
        if (!float.IsFinite(f) || f < min || f > max)
        {
            throw new ModelLoadException($"metadata key '{Key(key)}' = {f.ToString(System.Globalization.CultureInfo.InvariantCulture)} is out of range ({Range(min, max)})");
        }
        return f;
    }

    /// <summary>An optional boolean (or <paramref name="fallback"/>).</summary>
    public bool Bool(string key, bool fallback)
    {
        if (Metadata.Find(Key(key)) is not { } v) return fallback;
        try
        {
            return v.AsBool();
        }
        catch (InvalidCastException e)
        {
            throw new ModelLoadException($"metadata key '{Key(key)}' is not a boolean ({v})", e);
        }
    }

    /// <summary>An optional string (or null).</summary>
    public string? String(string key)
    {
        if (Metadata.Find(Key(key)) is not { } v) return null;
        try
        {
            return v.AsString();
        }
        catch (InvalidCastException e)
        {
            throw new ModelLoadException($"metadata key '{Key(key)}' is not a string ({v})", e);
        }
    }

    private static string Range(float min, float max) => (min, max) switch
    {
        (float.MinValue, float.MaxValue) => "a finite number",
        (_, float.MaxValue) => $"at least {min}",
        (float.MinValue, _) => $"at most {max}",
        _ => $"{min} to {max}",
    };

    private static int PositiveInt(string key, GgufValue value, bool allowZero)
    {
        long v;
        try
        {
            v = value.Type == GgufValueType.Array ? value.AsArray().ToInt32().Distinct().Single() : value.AsInt64();
        }
        catch (Exception e) when (e is InvalidCastException or InvalidOperationException or OverflowException)
        {
            throw new ModelLoadException($"metadata key '{key}' is not a usable integer ({value})", e);
        }
        if (v < 0 || (v == 0 && !allowZero) || v > int.MaxValue) throw new ModelLoadException($"metadata key '{key}' = {v} is out of range");
        return (int)v;
    }
}
