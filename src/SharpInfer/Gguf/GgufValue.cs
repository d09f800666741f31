using System.Globalization;
using System.Text;

namespace SharpInfer.Gguf;

/// <summary>
/// One metadata value. Strings keep their raw bytes (a GGUF string need not be valid UTF-8, and the writer must
/// reproduce files byte for byte); arrays keep their element type and a typed .NET array of items.
/// </summary>
public sealed class GgufValue
{
    private readonly object _value;

    private GgufValue(GgufValueType type, object value)
    {
        Type = type;
        _value = value;
    }

    /// <summary>The stored type.</summary>
    public GgufValueType Type { get; }

    /// <summary>The value as stored: a boxed scalar, <c>byte[]</c> for a string, or <see cref="GgufArray"/>.</summary>
    public object Raw => _value;

    /// <summary>An unsigned 8-bit value.</summary>
    public static GgufValue FromUInt8(byte v) => new(GgufValueType.UInt8, v);
    /// <summary>A signed 8-bit value.</summary>
    public static GgufValue FromInt8(sbyte v) => new(GgufValueType.Int8, v);
    /// <summary>An unsigned 16-bit value.</summary>
    public static GgufValue FromUInt16(ushort v) => new(GgufValueType.UInt16, v);
    /// <summary>A signed 16-bit value.</summary>
    public static GgufValue FromInt16(short v) => new(GgufValueType.Int16, v);
    /// <summary>An unsigned 32-bit value.</summary>
    public static GgufValue FromUInt32(uint v) => new(GgufValueType.UInt32, v);
    /// <summary>A signed 32-bit value.</summary>
    public static GgufValue FromInt32(int v) => new(GgufValueType.Int32, v);
    /// <summary>A 32-bit float.</summary>
    public static GgufValue FromFloat32(float v) => new(GgufValueType.Float32, v);
    /// <summary>A boolean.</summary>
    public static GgufValue FromBool(bool v) => new(GgufValueType.Bool, v);
    /// <summary>An unsigned 64-bit value.</summary>
    public static GgufValue FromUInt64(ulong v) => new(GgufValueType.UInt64, v);
    /// <summary>A signed 64-bit value.</summary>
    public static GgufValue FromInt64(long v) => new(GgufValueType.Int64, v);
    /// <summary>A 64-bit float.</summary>
    public static GgufValue FromFloat64(double v) => new(GgufValueType.Float64, v);
    /// <summary>A string, stored as UTF-8.</summary>
    public static GgufValue FromString(string v) => new(GgufValueType.String, Encoding.UTF8.GetBytes(v));
    /// <summary>A string given as raw bytes (kept exactly).</summary>
    public static GgufValue FromStringBytes(byte[] utf8) => new(GgufValueType.String, utf8);
    /// <summary>An array.</summary>
    public static GgufValue FromArray(GgufArray array) => new(GgufValueType.Array, array);

    /// <summary>The value as a signed 64-bit integer; any integer type (or bool) is accepted when it fits.</summary>
    public long AsInt64() => _value switch
    {
        byte v => v,
        sbyte v => v,
        ushort v => v,
        short v => v,
        uint v => v,
        int v => v,
        long v => v,
        ulong v when v <= long.MaxValue => (long)v,
        bool v => v ? 1 : 0,
        _ => throw new InvalidCastException($"a GGUF {GgufValueTypeInfo.ShortName(Type)} value is not an integer that fits in 64 bits"),
    };

    /// <summary>The value as an unsigned 64-bit integer; negative values are refused.</summary>
    public ulong AsUInt64() => _value is ulong u ? u : AsInt64() is var l && l >= 0 ? (ulong)l
        : throw new InvalidCastException($"GGUF value {this} is negative");

    /// <summary>The value as a double; integers and floats are accepted.</summary>
    public double AsDouble() => _value switch
    {
        float f => f,
        double d => d,
        ulong u => u,
        _ => AsInt64(),
    };

    /// <summary>The value as a float (doubles are narrowed).</summary>
    public float AsSingle() => _value is float f ? f : (float)AsDouble();

    /// <summary>The value as a boolean (integers: non-zero is true).</summary>
    public bool AsBool() => _value is bool b ? b : AsInt64() != 0;

    /// <summary>The string, decoded as UTF-8 (invalid sequences become U+FFFD).</summary>
    public string AsString() => _value is byte[] bytes ? Encoding.UTF8.GetString(bytes)
        : throw new InvalidCastException($"a GGUF {GgufValueTypeInfo.ShortName(Type)} value is not a string");

    /// <summary>The raw bytes of a string value.</summary>
    public byte[] AsStringBytes() => _value as byte[] ?? throw new InvalidCastException($"a GGUF {GgufValueTypeInfo.ShortName(Type)} value is not a string");

    /// <summary>The array.</summary>
    public GgufArray AsArray() => _value as GgufArray ?? throw new InvalidCastException($"a GGUF {GgufValueTypeInfo.ShortName(Type)} value is not an array");

    /// <inheritdoc />
    public override string ToString() => _value switch
    {
        byte[] => AsString(),
        GgufArray a => a.ToString(),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => _value.ToString() ?? string.Empty,
    };
}

/// <summary>
/// A GGUF array: an element type and a typed .NET array (<c>float[]</c>, <c>int[]</c>, <c>byte[][]</c> for strings,
/// <see cref="GgufArray"/>[] for nested arrays, …).
/// </summary>
public sealed class GgufArray
{
    /// <summary>Wraps a typed array; the .NET element type must match <paramref name="elementType"/>.</summary>
    public GgufArray(GgufValueType elementType, Array items)
    {
        var expected = ClrType(elementType);
        if (items.GetType().GetElementType() != expected)
        {
            throw new ArgumentException($"a GGUF {GgufValueTypeInfo.ShortName(elementType)} array needs {expected.Name}[] items, got {items.GetType().Name}");
        }
        ElementType = elementType;
        Items = items;
    }

    /// <summary>Element type.</summary>
    public GgufValueType ElementType { get; }

    /// <summary>The items as a typed array.</summary>
    public Array Items { get; }

    /// <summary>Number of items.</summary>
    public int Count => Items.Length;

    /// <summary>An array of strings from .NET strings (stored as UTF-8).</summary>
    public static GgufArray FromStrings(IEnumerable<string> items) =>
        new(GgufValueType.String, items.Select(s => Encoding.UTF8.GetBytes(s)).ToArray());

    /// <summary>The items as <typeparamref name="T"/>[] when that is how they are stored.</summary>
    public T[] As<T>() => Items as T[] ?? throw new InvalidCastException($"GGUF array of {GgufValueTypeInfo.ShortName(ElementType)} is not {typeof(T).Name}[]");

    /// <summary>String items decoded as UTF-8.</summary>
    public string[] ToStrings() => As<byte[]>().Select(b => Encoding.UTF8.GetString(b)).ToArray();

    /// <summary>Numeric items converted to 32-bit integers (any integer element type).</summary>
    public int[] ToInt32() => Items switch
    {
        int[] a => a,
        uint[] a => a.Select(v => checked((int)v)).ToArray(),
        byte[] a => a.Select(v => (int)v).ToArray(),
        sbyte[] a => a.Select(v => (int)v).ToArray(),
        short[] a => a.Select(v => (int)v).ToArray(),
        ushort[] a => a.Select(v => (int)v).ToArray(),
        long[] a => a.Select(v => checked((int)v)).ToArray(),
        ulong[] a => a.Select(v => checked((int)v)).ToArray(),
        _ => throw new InvalidCastException($"GGUF array of {GgufValueTypeInfo.ShortName(ElementType)} is not an integer array"),
    };

    /// <summary>Numeric items converted to floats.</summary>
    public float[] ToSingle() => Items switch
    {
        float[] a => a,
        double[] a => a.Select(v => (float)v).ToArray(),
        _ => ToInt32().Select(v => (float)v).ToArray(),
    };

    /// <summary>The .NET element type used for a GGUF element type.</summary>
    public static Type ClrType(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => typeof(byte),
        GgufValueType.Int8 => typeof(sbyte),
        GgufValueType.UInt16 => typeof(ushort),
        GgufValueType.Int16 => typeof(short),
        GgufValueType.UInt32 => typeof(uint),
        GgufValueType.Int32 => typeof(int),
        GgufValueType.Float32 => typeof(float),
        GgufValueType.Bool => typeof(bool),
        GgufValueType.String => typeof(byte[]),
        GgufValueType.Array => typeof(GgufArray),
        GgufValueType.UInt64 => typeof(ulong),
        GgufValueType.Int64 => typeof(long),
        GgufValueType.Float64 => typeof(double),
        _ => throw new ArgumentOutOfRangeException(nameof(type), $"unknown GGUF value type {(uint)type}"),
    };

    /// <inheritdoc />
    public override string ToString() => $"[{GgufValueTypeInfo.ShortName(ElementType)} × {Count}]";
}
