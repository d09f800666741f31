using System.Buffers.Binary;
using System.Text;

namespace SharpInfer.Gguf;

/// <summary>
/// Bounds-checked little-endian reader over the mapped bytes of a GGUF file. Every read that would pass the end
/// of the file throws <see cref="GgufFormatException"/> with the offset, so no corrupt length can read wild memory.
/// </summary>
internal unsafe struct GgufCursor
{
    private readonly byte* _base;
    private readonly long _length;

    public GgufCursor(byte* data, long length)
    {
        _base = data;
        _length = length;
        Position = 0;
    }

    public long Position { get; set; }

    public readonly long Remaining => _length - Position;

    public readonly long Length => _length;

    private byte* Take(long count, string what)
    {
        if (count < 0 || count > Remaining)
        {
            throw new GgufFormatException(Position, $"truncated file: {what} needs {count} bytes but only {Math.Max(0, Remaining)} remain", $"a complete {what}");
        }
        byte* p = _base + Position;
        Position += count;
        return p;
    }

    public byte ReadByte(string what) => *Take(1, what);

    public void ReadInto(Span<byte> destination, string what) =>
        new ReadOnlySpan<byte>(Take(destination.Length, what), destination.Length).CopyTo(destination);
    public ushort ReadUInt16(string what) => BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(Take(2, what), 2));
    public uint ReadUInt32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(new ReadOnlySpan<byte>(Take(4, what), 4));
    public ulong ReadUInt64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(Take(8, what), 8));
    public float ReadSingle(string what) => BitConverter.Int32BitsToSingle((int)ReadUInt32(what));
    public double ReadDouble(string what) => BitConverter.Int64BitsToDouble((long)ReadUInt64(what));

    /// <summary>Reads a 64-bit length followed by that many bytes.</summary>
    public byte[] ReadStringBytes(string what)
    {
        long at = Position;
        ulong length = ReadUInt64(what + " length");
        if (length > (ulong)Remaining)
        {
            throw new GgufFormatException(at, $"{what} length {length} runs past the end of the file ({Remaining} bytes remain)", $"a {what} inside the file");
        }
        if (length > int.MaxValue)
        {
            throw new GgufFormatException(at, $"{what} length {length} is larger than 2 GiB", $"a {what} shorter than 2 GiB");
        }
        return new ReadOnlySpan<byte>(Take((long)length, what), (int)length).ToArray();
    }

    public string ReadString(string what) => Encoding.UTF8.GetString(ReadStringBytes(what));
}
