using System.Buffers.Binary;
using System.Text;
using SharpInfer.Files;
using SharpInfer.Tensors;

namespace SharpInfer.Gguf;

/// <summary>
/// Writes GGUF files (v2 or v3, little-endian) the way ggml lays them out: header, metadata, tensor infos,
/// zero padding to the alignment, then each tensor's data padded to the alignment. A file read with
/// <see cref="GgufFile"/> and written back through <see cref="FromFile"/> is byte-identical.
/// </summary>
public sealed class GgufWriter
{
    /// <summary>Writes exactly a tensor's byte size of data to the stream.</summary>
    public delegate void TensorDataWriter(Stream output);

    private sealed record PendingTensor(string Name, GgmlType Type, long[] Shape, long ByteSize, TensorDataWriter Write);

    private readonly List<PendingTensor> _tensors = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>Creates an empty writer for the given GGUF version (2 or 3).</summary>
    public GgufWriter(uint version = 3)
    {
        if (version is not (2 or 3)) throw new ArgumentOutOfRangeException(nameof(version), "GGUF writer supports versions 2 and 3");
        Version = version;
    }

    /// <summary>GGUF version written.</summary>
    public uint Version { get; }

    /// <summary>Metadata to write, in order. <c>general.alignment</c> (u32) sets the alignment.</summary>
    public GgufMetadata Metadata { get; } = new();

    /// <summary>
    /// Whether a file without tensors still ends padded to the alignment. ggml pads always; Python's gguf writer
    /// does not. <see cref="FromFile"/> copies what the source did.
    /// </summary>
    public bool PadEmptyDataSection { get; set; } = true;

    /// <summary>Hears how far the write got after each tensor's data.</summary>
    public Action<GgufWriteProgress>? Progress { get; set; }

    /// <summary>Number of tensors added.</summary>
    public int TensorCount => _tensors.Count;

    /// <summary>The alignment that will be used.</summary>
    public uint Alignment => Metadata.Find("general.alignment") is { Type: GgufValueType.UInt32 } v ? (uint)v.Raw : GgufFile.DefaultAlignment;

    /// <summary>Adds a tensor whose data is produced by <paramref name="write"/> when the file is written.</summary>
    public void AddTensor(string name, GgmlType type, IReadOnlyList<long> shape, TensorDataWriter write)
    {
        if (!_names.Add(name)) throw new ArgumentException($"tensor {SafeText.Quote(name)} was already added", nameof(name));
        if (shape.Count is 0 or > GgufFile.MaxDimensions) throw new ArgumentException($"tensor {SafeText.Quote(name)} needs 1..{GgufFile.MaxDimensions} dimensions", nameof(shape));
        long elements = 1;
        foreach (long d in shape) elements = checked(elements * d);
        long rowBytes = GgmlTypeInfo.RowBytes(type, shape[0]);
        long bytes = shape[0] == 0 ? 0 : checked(rowBytes * (elements / shape[0]));
        _tensors.Add(new PendingTensor(name, type, shape.ToArray(), bytes, write));
    }

    /// <summary>Adds a tensor from bytes in memory.</summary>
    public void AddTensor(string name, GgmlType type, IReadOnlyList<long> shape, byte[] data) =>
        AddTensor(name, type, shape, s => s.Write(data));

    /// <summary>Adds a tensor copied from an open file (read from its mapping when written).</summary>
    public unsafe void AddTensor(GgufFile source, GgufTensorInfo tensor, string? rename = null) =>
        AddTensor(rename ?? tensor.Name, tensor.Type, tensor.Shape, s => CopyMapped(source.GetDataPointer(tensor), tensor.ByteSize, s));

    /// <summary>A writer holding a copy of a file's version, metadata and tensors.</summary>
    public static GgufWriter FromFile(GgufFile file)
    {
        var writer = new GgufWriter(file.Version) { PadEmptyDataSection = file.FileSize > file.HeaderSize };
        foreach (var (key, value) in file.Metadata) writer.Metadata.Set(key, value);
        foreach (var t in file.Tensors) writer.AddTensor(file, t);
        return writer;
    }

    /// <summary>
    /// Writes the file to <paramref name="path"/> by the rules of <see cref="OutputFile"/>: only a GGUF file (or
    /// nothing) is replaced, never one of <paramref name="inputs"/>; the data goes through a temporary file that a
    /// failure or <paramref name="cancellation"/> removes. The data is on disk before the rename, and is then dropped
    /// from the page cache: a reader maps the file back in huge pages, where pages the kernel wrote would have stayed
    /// 4 KiB ones (<see cref="MemoryAdvice"/>).
    /// </summary>
    public void Save(string path, CancellationToken cancellation = default, IEnumerable<string?>? inputs = null) =>
        OutputFile.Write(path, GgufFile.Kind, WriteTo, cancellation, inputs, MemoryAdvice.Evict);

    /// <summary>Writes the whole file to a stream.</summary>
    public void WriteTo(Stream output)
    {
        var counting = new ObservedStream(output);
        uint alignment = Alignment;
        if (alignment == 0 || (alignment & (alignment - 1)) != 0) throw new InvalidOperationException($"alignment {alignment} is not a power of two");

        WriteUInt32(counting, GgufFile.Magic);
        WriteUInt32(counting, Version);
        WriteUInt64(counting, (ulong)_tensors.Count);
        WriteUInt64(counting, (ulong)Metadata.Count);
        foreach (var (key, value) in Metadata)
        {
            WriteString(counting, Encoding.UTF8.GetBytes(key));
            WriteUInt32(counting, (uint)value.Type);
            WriteValue(counting, value);
        }
        long offset = 0;
        foreach (var t in _tensors)
        {
            WriteString(counting, Encoding.UTF8.GetBytes(t.Name));
            WriteUInt32(counting, (uint)t.Shape.Length);
            foreach (long d in t.Shape) WriteUInt64(counting, (ulong)d);
            WriteUInt32(counting, (uint)t.Type);
            WriteUInt64(counting, (ulong)offset);
            offset += Pad(t.ByteSize, alignment);
        }
        // The data section starts aligned; a file without tensors has no data section and ends here.
        if (_tensors.Count > 0 || PadEmptyDataSection) WritePadding(counting, alignment);
        int done = 0;
        long dataBytes = _tensors.Sum(t => t.ByteSize), dataDone = 0;
        foreach (var t in _tensors)
        {
            long before = counting.Written;
            t.Write(counting);
            long wrote = counting.Written - before;
            if (wrote != t.ByteSize)
            {
                throw new InvalidOperationException($"tensor {SafeText.Quote(t.Name)} wrote {wrote} bytes, expected {t.ByteSize}");
            }
            WritePadding(counting, alignment);
            dataDone += wrote;
            Progress?.Invoke(new GgufWriteProgress(++done, _tensors.Count, dataDone, dataBytes));
        }
        counting.Flush();
    }

    private static long Pad(long size, uint alignment) => (size + alignment - 1) / alignment * alignment;

    private static void WritePadding(ObservedStream s, uint alignment)
    {
        long pad = Pad(s.Written, alignment) - s.Written;
        Span<byte> zeros = stackalloc byte[64];
        zeros.Clear();
        while (pad > 0)
        {
            int n = (int)Math.Min(pad, zeros.Length);
            s.Write(zeros[..n]);
            pad -= n;
        }
    }

    private static unsafe void CopyMapped(byte* source, long length, Stream output)
    {
        const int chunk = 1 << 22;
        for (long done = 0; done < length; done += chunk)
        {
            int n = (int)Math.Min(chunk, length - done);
            output.Write(new ReadOnlySpan<byte>(source + done, n));
        }
    }

    private static void WriteValue(Stream s, GgufValue value)
    {
        switch (value.Raw)
        {
            case byte v: s.WriteByte(v); break;
            case sbyte v: s.WriteByte((byte)v); break;
            case ushort v: WriteUInt16(s, v); break;
            case short v: WriteUInt16(s, (ushort)v); break;
            case uint v: WriteUInt32(s, v); break;
            case int v: WriteUInt32(s, (uint)v); break;
            case float v: WriteUInt32(s, BitConverter.SingleToUInt32Bits(v)); break;
            case bool v: s.WriteByte(v ? (byte)1 : (byte)0); break;
            case ulong v: WriteUInt64(s, v); break;
            case long v: WriteUInt64(s, (ulong)v); break;
            case double v: WriteUInt64(s, BitConverter.DoubleToUInt64Bits(v)); break;
            case byte[] v: WriteString(s, v); break;
            case GgufArray a: WriteArray(s, a); break;
            default: throw new InvalidOperationException($"cannot write GGUF value of {value.Raw.GetType().Name}");
        }
    }

    private static void WriteArray(Stream s, GgufArray array)
    {
        WriteUInt32(s, (uint)array.ElementType);
        WriteUInt64(s, (ulong)array.Count);
        switch (array.Items)
        {
            case byte[] a: s.Write(a); break;
            case sbyte[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case ushort[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case short[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case uint[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case int[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case float[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case ulong[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case long[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case double[] a: s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.AsSpan())); break;
            case bool[] a: foreach (bool b in a) s.WriteByte(b ? (byte)1 : (byte)0); break;
            case byte[][] a: foreach (var str in a) WriteString(s, str); break;
            case GgufArray[] a: foreach (var inner in a) WriteArray(s, inner); break;
            default: throw new InvalidOperationException($"cannot write GGUF array of {array.Items.GetType().Name}");
        }
    }

    private static void WriteString(Stream s, byte[] bytes)
    {
        WriteUInt64(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void WriteUInt16(Stream s, ushort v)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        s.Write(b);
    }

    private static void WriteUInt32(Stream s, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        s.Write(b);
    }

    private static void WriteUInt64(Stream s, ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        s.Write(b);
    }
}

/// <summary>How far a <see cref="GgufWriter"/> got: tensors and tensor-data bytes written, of how many.</summary>
/// <param name="TensorsDone">Tensors written.</param>
/// <param name="Tensors">Tensors in all.</param>
/// <param name="BytesDone">Tensor data bytes written.</param>
/// <param name="Bytes">Tensor data bytes in all.</param>
public readonly record struct GgufWriteProgress(int TensorsDone, int Tensors, long BytesDone, long Bytes);
