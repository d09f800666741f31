namespace SharpInfer.Gguf;

/// <summary>The 13 metadata value types of GGUF, numbered as in the file format.</summary>
public enum GgufValueType : uint
{
    /// <summary>Unsigned 8-bit integer.</summary>
    UInt8 = 0,
    /// <summary>Signed 8-bit integer.</summary>
    Int8 = 1,
    /// <summary>Unsigned 16-bit integer.</summary>
    UInt16 = 2,
    /// <summary>Signed 16-bit integer.</summary>
    Int16 = 3,
    /// <summary>Unsigned 32-bit integer.</summary>
    UInt32 = 4,
    /// <summary>Signed 32-bit integer.</summary>
    Int32 = 5,
    /// <summary>32-bit IEEE float.</summary>
    Float32 = 6,
    /// <summary>Boolean stored as one byte (0 or 1).</summary>
    Bool = 7,
    /// <summary>UTF-8 string with a 64-bit byte length.</summary>
    String = 8,
    /// <summary>Typed array (elements may themselves be arrays).</summary>
    Array = 9,
    /// <summary>Unsigned 64-bit integer.</summary>
    UInt64 = 10,
    /// <summary>Signed 64-bit integer.</summary>
    Int64 = 11,
    /// <summary>64-bit IEEE float.</summary>
    Float64 = 12,
}

/// <summary>Facts about <see cref="GgufValueType"/>.</summary>
public static class GgufValueTypeInfo
{
    /// <summary>True for the 13 defined types.</summary>
    public static bool IsDefined(GgufValueType type) => (uint)type <= (uint)GgufValueType.Float64;

    /// <summary>Encoded size of a scalar of this type; 0 for strings and arrays (variable length).</summary>
    public static int FixedSize(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
        GgufValueType.UInt16 or GgufValueType.Int16 => 2,
        GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
        GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
        _ => 0,
    };

    /// <summary>The smallest number of bytes one value of this type can take (used to bound counts).</summary>
    public static int MinimumSize(GgufValueType type) => type switch
    {
        GgufValueType.String => 8,
        GgufValueType.Array => 12,
        _ => FixedSize(type),
    };

    /// <summary>Lower-case name as GGUF tooling prints it ("u32", "str", "arr").</summary>
    public static string ShortName(GgufValueType type) => type switch
    {
        GgufValueType.UInt8 => "u8",
        GgufValueType.Int8 => "i8",
        GgufValueType.UInt16 => "u16",
        GgufValueType.Int16 => "i16",
        GgufValueType.UInt32 => "u32",
        GgufValueType.Int32 => "i32",
        GgufValueType.Float32 => "f32",
        GgufValueType.Bool => "bool",
        GgufValueType.String => "str",
        GgufValueType.Array => "arr",
        GgufValueType.UInt64 => "u64",
        GgufValueType.Int64 => "i64",
        GgufValueType.Float64 => "f64",
        _ => $"type{(uint)type}",
    };
}
