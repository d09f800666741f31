using System.Numerics;
using System.Text;
using SharpInfer.Files;
using SharpInfer.Tensors;

namespace SharpInfer.Gguf;

/// <summary>
/// A parsed GGUF file (versions 2 and 3). The file is memory-mapped read-only and tensor data is exposed as
/// pointers into the mapping: nothing is copied, and files larger than 2 GiB work. Everything read from the
/// header is validated; any problem raises <see cref="GgufFormatException"/> naming the byte offset.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    /// <summary>The four magic bytes "GGUF" read as a little-endian u32.</summary>
    public const uint Magic = 0x46554747;

    /// <summary>GGUF files as <see cref="OutputFile"/> recognises them (by the magic).</summary>
    public static FileKind Kind { get; } = new("GGUF file", "GGUF"u8);

    /// <summary>Default data alignment when <c>general.alignment</c> is absent.</summary>
    public const uint DefaultAlignment = 32;

    /// <summary>Highest dimension count ggml supports.</summary>
    public const int MaxDimensions = 4;

    /// <summary>Deepest nesting of arrays accepted (real files use at most 2).</summary>
    public const int MaxArrayNesting = 64;

    private readonly GgufSource _source;
    private readonly List<GgufTensorInfo> _tensors;
    private readonly Dictionary<string, GgufTensorInfo> _byName;

    private GgufFile(GgufSource source, string? path)
    {
        _source = source;
        Path = path;
        try
        {
            var cursor = new GgufCursor(source.Pointer, source.Length);
            Metadata = new GgufMetadata();
            _tensors = new List<GgufTensorInfo>();
            _byName = new Dictionary<string, GgufTensorInfo>(StringComparer.Ordinal);
            Parse(ref cursor);
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>Opens and validates a GGUF file, mapping it into memory.</summary>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF v2/v3 file.</exception>
    public static GgufFile Open(string path) => new(GgufSource.Map(path), path);

    /// <summary>Parses a GGUF image held in memory (the array is pinned for the lifetime of the result).</summary>
    public static GgufFile FromBytes(byte[] bytes) => new(new GgufSource.ArraySource(bytes), null);

    /// <summary>The path the file was opened from (null for in-memory images).</summary>
    public string? Path { get; }

    /// <summary>GGUF version (2 or 3).</summary>
    public uint Version { get; private set; }

    /// <summary>Data alignment in bytes.</summary>
    public uint Alignment { get; private set; } = DefaultAlignment;

    /// <summary>Metadata in file order.</summary>
    public GgufMetadata Metadata { get; }

    /// <summary>Tensor descriptions in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors => _tensors;

    /// <summary>File offset of the data section.</summary>
    public long DataOffset { get; private set; }

    /// <summary>Bytes of header: magic through the last tensor info, before alignment padding.</summary>
    public long HeaderSize { get; private set; }

    /// <summary>Total file size in bytes.</summary>
    public long FileSize => _source.Length;

    /// <summary>Pointer to the first byte of the mapping (for whole-file hashing and copying).</summary>
    public byte* BasePointer => _source.Pointer;

    /// <summary>
    /// How many bytes of the file's memory map are mapped in huge pages now (Linux; only pages read so far count), or
    /// null where that cannot be known (another system, a file read from bytes).
    /// </summary>
    public long? BytesInHugePages => Path is null ? null : MemoryAdvice.HugeMappedBytes(_source.Pointer);

    /// <summary>Whether this system hands out transparent huge pages at all (Linux, not switched to <c>never</c>).</summary>
    public static bool HugePagesAvailable => MemoryAdvice.HugePagesAvailable;

    /// <summary>The tensor with this name, or null.</summary>
    public GgufTensorInfo? FindTensor(string name) => _byName.GetValueOrDefault(name);

    /// <summary>The tensor with this name; throws <see cref="KeyNotFoundException"/> naming it when absent.</summary>
    public GgufTensorInfo GetTensor(string name) =>
        FindTensor(name) ?? throw new KeyNotFoundException($"tensor {SafeText.Quote(name)} is not in the file");

    /// <summary>Pointer to a tensor's data inside the mapping (valid until the file is disposed).</summary>
    public byte* GetDataPointer(GgufTensorInfo tensor) => _source.Pointer + DataOffset + tensor.Offset;

    /// <summary>A tensor's bytes as a span; tensors of 2 GiB or more must use <see cref="GetDataPointer"/>.</summary>
    public ReadOnlySpan<byte> GetData(GgufTensorInfo tensor)
    {
        if (tensor.ByteSize > int.MaxValue)
        {
            throw new InvalidOperationException($"tensor {SafeText.Quote(tensor.Name)} is {tensor.ByteSize} bytes; use GetDataPointer for tensors over 2 GiB");
        }
        return new ReadOnlySpan<byte>(GetDataPointer(tensor), (int)tensor.ByteSize);
    }

    /// <summary>Sum of all tensors' data bytes.</summary>
    public long TensorBytes => _tensors.Sum(t => t.ByteSize);

    /// <summary>Sum of all tensors' element counts.</summary>
    public long ElementCount => _tensors.Sum(t => t.ElementCount);

    /// <summary>Releases the mapping; tensor pointers become invalid.</summary>
    public void Dispose() => _source.Dispose();

    private void Parse(ref GgufCursor c)
    {
        if (c.Length < 4)
        {
            throw new GgufFormatException(0, $"file is {c.Length} bytes, too short to hold the GGUF magic", "at least a 24-byte header");
        }
        uint magic = c.ReadUInt32("magic");
        if (magic != Magic)
        {
            throw new GgufFormatException(0, $"bad magic {Printable(magic)}", "'GGUF'");
        }
        long versionAt = c.Position;
        uint version = c.ReadUInt32("version");
        if (version != 0 && (version & 0xFFFF) == 0 && BinaryReverse(version) <= 3)
        {
            throw new GgufFormatException(versionAt, $"big-endian GGUF file (version reads as 0x{version:X8}); only little-endian files are supported", "a little-endian file");
        }
        if (version == 1)
        {
            throw new GgufFormatException(versionAt, "GGUF version 1 is not supported (legacy layout with 32-bit counts and lengths); re-convert the model with a current llama.cpp", "version 2 or 3");
        }
        if (version is not (2 or 3))
        {
            throw new GgufFormatException(versionAt, $"unknown GGUF version {version}", "version 2 or 3");
        }
        Version = version;

        long countsAt = c.Position;
        ulong tensorCount = c.ReadUInt64("tensor count");
        ulong kvCount = c.ReadUInt64("metadata count");
        // Each tensor entry takes at least 24 bytes and each key/value at least 13: a count that cannot fit in the
        // rest of the file is corrupt, and refusing it up front keeps a bad count from allocating gigabytes.
        if (tensorCount > (ulong)c.Remaining / 24)
        {
            throw new GgufFormatException(countsAt, $"tensor count {tensorCount} cannot fit in the {c.Remaining} bytes that follow", "a tensor count that fits the file");
        }
        if (kvCount > (ulong)c.Remaining / 13)
        {
            throw new GgufFormatException(countsAt + 8, $"metadata count {kvCount} cannot fit in the {c.Remaining} bytes that follow", "a metadata count that fits the file");
        }

        for (ulong i = 0; i < kvCount; i++)
        {
            long keyAt = c.Position;
            string key = c.ReadString("metadata key");
            long typeAt = c.Position;
            var type = (GgufValueType)c.ReadUInt32("metadata value type");
            if (!GgufValueTypeInfo.IsDefined(type))
            {
                throw new GgufFormatException(typeAt, $"unknown metadata value type {(uint)type} for key {SafeText.Quote(key)}", "a value type 0..12");
            }
            // Values see the key only for messages: quoted and escaped once, as every name from a file is shown.
            var value = ReadValue(ref c, type, SafeText.Quote(key), 0);
            if (!Metadata.TryAdd(key, value))
            {
                throw new GgufFormatException(keyAt, $"duplicate metadata key {SafeText.Quote(key)}", "each key once");
            }
        }

        if (Metadata.Find("general.alignment") is { } alignmentValue)
        {
            if (alignmentValue.Type != GgufValueType.UInt32)
            {
                throw new GgufFormatException(-1, $"general.alignment is stored as {GgufValueTypeInfo.ShortName(alignmentValue.Type)}", "a u32");
            }
            uint alignment = (uint)alignmentValue.Raw;
            if (alignment == 0 || !BitOperations.IsPow2(alignment))
            {
                throw new GgufFormatException(-1, $"general.alignment {alignment} is not a power of two", "a power of two");
            }
            Alignment = alignment;
        }

        var entryOffsets = new long[tensorCount];
        for (ulong i = 0; i < tensorCount; i++)
        {
            entryOffsets[i] = c.Position;
            var info = ReadTensorInfo(ref c);
            if (!_byName.TryAdd(info.Name, info))
            {
                throw new GgufFormatException(entryOffsets[i], $"duplicate tensor name {SafeText.Quote(info.Name)}", "each tensor name once");
            }
            _tensors.Add(info);
        }

        long headerEnd = c.Position;
        HeaderSize = headerEnd;
        DataOffset = AlignUp(headerEnd, Alignment);
        if (tensorCount > 0 && DataOffset > c.Length)
        {
            throw new GgufFormatException(headerEnd, $"truncated file: data section would start at byte {DataOffset} but the file has {c.Length} bytes", "a data section");
        }
        long dataSize = c.Length - DataOffset;
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            if (t.Offset % Alignment != 0)
            {
                throw new GgufFormatException(entryOffsets[i], $"tensor {SafeText.Quote(t.Name)} data offset {t.Offset} is not a multiple of the alignment {Alignment}", "an aligned offset");
            }
            if (t.Offset > dataSize)
            {
                throw new GgufFormatException(entryOffsets[i], $"tensor {SafeText.Quote(t.Name)} data offset {t.Offset} is outside the data section ({dataSize} bytes)", "an offset inside the data section");
            }
            if (t.ByteSize > dataSize - t.Offset)
            {
                throw new GgufFormatException(DataOffset + t.Offset, $"tensor {SafeText.Quote(t.Name)} data ({t.ByteSize} bytes at data offset {t.Offset}) runs past the end of the file", "tensor data inside the file");
            }
        }
    }

    private GgufTensorInfo ReadTensorInfo(ref GgufCursor c)
    {
        long at = c.Position;
        string name = c.ReadString("tensor name");
        uint rank = c.ReadUInt32("tensor dimension count");
        if (rank > MaxDimensions)
        {
            throw new GgufFormatException(at, $"tensor {SafeText.Quote(name)} has {rank} dimensions", $"at most {MaxDimensions}");
        }
        var shape = new long[rank];
        long elements = 1;
        for (int d = 0; d < rank; d++)
        {
            long dimAt = c.Position;
            long n = (long)c.ReadUInt64("tensor dimension");
            if (n < 0)
            {
                throw new GgufFormatException(dimAt, $"tensor {SafeText.Quote(name)} dimension {d} is negative ({n})", "a non-negative size");
            }
            if (n != 0 && elements > long.MaxValue / n)
            {
                throw new GgufFormatException(dimAt, $"tensor {SafeText.Quote(name)} element count overflows 64 bits", "a representable shape");
            }
            elements *= n;
            shape[d] = n;
        }
        long typeAt = c.Position;
        var type = (GgmlType)c.ReadUInt32("tensor type");
        if (!GgmlTypeInfo.IsKnown(type))
        {
            throw new GgufFormatException(typeAt, $"tensor {SafeText.Quote(name)} has unknown type {(int)type}", "a ggml type");
        }
        int block = GgmlTypeInfo.BlockSize(type);
        long rowLength = rank > 0 ? shape[0] : 1;
        if (rowLength % block != 0)
        {
            throw new GgufFormatException(at, $"tensor {SafeText.Quote(name)} of type {type} has rows of {rowLength} elements, not a multiple of the block size {block}", $"rows of whole {type} blocks");
        }
        if (elements / block > long.MaxValue / GgmlTypeInfo.BlockBytes(type))
        {
            throw new GgufFormatException(at, $"tensor {SafeText.Quote(name)} byte size overflows 64 bits", "a representable size");
        }
        long offset = (long)c.ReadUInt64("tensor data offset");
        if (offset < 0)
        {
            throw new GgufFormatException(c.Position - 8, $"tensor {SafeText.Quote(name)} data offset {(ulong)offset} is outside the data section", "an offset inside the data section");
        }
        return new GgufTensorInfo(name, type, shape, offset);
    }

    private static GgufValue ReadValue(ref GgufCursor c, GgufValueType type, string key, int depth)
    {
        switch (type)
        {
            case GgufValueType.UInt8: return GgufValue.FromUInt8(c.ReadByte(key));
            case GgufValueType.Int8: return GgufValue.FromInt8((sbyte)c.ReadByte(key));
            case GgufValueType.UInt16: return GgufValue.FromUInt16(c.ReadUInt16(key));
            case GgufValueType.Int16: return GgufValue.FromInt16((short)c.ReadUInt16(key));
            case GgufValueType.UInt32: return GgufValue.FromUInt32(c.ReadUInt32(key));
            case GgufValueType.Int32: return GgufValue.FromInt32((int)c.ReadUInt32(key));
            case GgufValueType.Float32: return GgufValue.FromFloat32(c.ReadSingle(key));
            case GgufValueType.UInt64: return GgufValue.FromUInt64(c.ReadUInt64(key));
            case GgufValueType.Int64: return GgufValue.FromInt64((long)c.ReadUInt64(key));
            case GgufValueType.Float64: return GgufValue.FromFloat64(c.ReadDouble(key));
            case GgufValueType.Bool:
            {
                long at = c.Position;
                byte b = c.ReadByte(key);
                if (b > 1) throw new GgufFormatException(at, $"boolean value {b} for key {key}", "0 or 1");
                return GgufValue.FromBool(b != 0);
            }
            case GgufValueType.String: return GgufValue.FromStringBytes(c.ReadStringBytes($"string value of {key}"));
            case GgufValueType.Array: return GgufValue.FromArray(ReadArray(ref c, key, depth + 1));
            default: throw new GgufFormatException(c.Position, $"unknown metadata value type {(uint)type} for key {key}", "a value type 0..12");
        }
    }

    private static GgufArray ReadArray(ref GgufCursor c, string key, int depth)
    {
        long at = c.Position;
        if (depth > MaxArrayNesting)
        {
            throw new GgufFormatException(at, $"arrays nested more than {MaxArrayNesting} deep in {key}", "shallower nesting");
        }
        var elementType = (GgufValueType)c.ReadUInt32($"array element type of {key}");
        if (!GgufValueTypeInfo.IsDefined(elementType))
        {
            throw new GgufFormatException(at, $"unknown array element type {(uint)elementType} for key {key}", "a value type 0..12");
        }
        ulong count = c.ReadUInt64($"array length of {key}");
        ulong minimum = (ulong)GgufValueTypeInfo.MinimumSize(elementType);
        if (count > int.MaxValue || count * minimum > (ulong)c.Remaining)
        {
            throw new GgufFormatException(at, $"array {key} of {count} {GgufValueTypeInfo.ShortName(elementType)} runs past the end of the file ({c.Remaining} bytes remain)", "an array inside the file");
        }
        int n = (int)count;
        switch (elementType)
        {
            case GgufValueType.UInt8: return new(elementType, ReadBlock<byte>(ref c, n, key));
            case GgufValueType.Int8: return new(elementType, ReadBlock<sbyte>(ref c, n, key));
            case GgufValueType.UInt16: return new(elementType, ReadBlock<ushort>(ref c, n, key));
            case GgufValueType.Int16: return new(elementType, ReadBlock<short>(ref c, n, key));
            case GgufValueType.UInt32: return new(elementType, ReadBlock<uint>(ref c, n, key));
            case GgufValueType.Int32: return new(elementType, ReadBlock<int>(ref c, n, key));
            case GgufValueType.Float32: return new(elementType, ReadBlock<float>(ref c, n, key));
            case GgufValueType.UInt64: return new(elementType, ReadBlock<ulong>(ref c, n, key));
            case GgufValueType.Int64: return new(elementType, ReadBlock<long>(ref c, n, key));
            case GgufValueType.Float64: return new(elementType, ReadBlock<double>(ref c, n, key));
            case GgufValueType.Bool:
            {
                var items = new bool[n];
                for (int i = 0; i < n; i++) items[i] = ReadValue(ref c, GgufValueType.Bool, key, depth).AsBool();
                return new(elementType, items);
            }
            case GgufValueType.String:
            {
                var items = new byte[n][];
                for (int i = 0; i < n; i++) items[i] = c.ReadStringBytes($"string {i} of {key}");
                return new(elementType, items);
            }
            default:
            {
                var items = new GgufArray[n];
                for (int i = 0; i < n; i++)
                {
                    items[i] = ReadValue(ref c, GgufValueType.Array, key, depth).AsArray();
                }
                return new(elementType, items);
            }
        }
    }

    private static T[] ReadBlock<T>(ref GgufCursor c, int n, string key) where T : unmanaged
    {
        var items = new T[n];
        c.ReadInto(System.Runtime.InteropServices.MemoryMarshal.AsBytes(items.AsSpan()), $"array {key}");
        return items;
    }

    private static long AlignUp(long value, uint alignment) => (value + alignment - 1) / alignment * alignment;

    private static uint BinaryReverse(uint v) => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);

    private static string Printable(uint magic)
    {
        var bytes = BitConverter.GetBytes(magic);
        var sb = new StringBuilder("'");
        foreach (byte b in bytes) sb.Append(b is >= 32 and < 127 ? (char)b : '.');
        return sb.Append("' (0x").Append(magic.ToString("X8")).Append(')').ToString();
    }
}
