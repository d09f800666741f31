using System.Text;

namespace SharpInfer.Tests.Gguf;

/// <summary>Builds GGUF images byte by byte, so tests can make exactly the malformed file they need.</summary>
public sealed class GgufBytes
{
    private readonly MemoryStream _stream = new();
    private readonly BinaryWriter _w;

    public GgufBytes() => _w = new BinaryWriter(_stream, Encoding.UTF8, leaveOpen: true);

    public long Position => _stream.Position;

    public GgufBytes Magic(string magic = "GGUF") { _w.Write(Encoding.ASCII.GetBytes(magic)); return this; }
    public GgufBytes U8(byte v) { _w.Write(v); return this; }
    public GgufBytes U32(uint v) { _w.Write(v); return this; }
    public GgufBytes U64(ulong v) { _w.Write(v); return this; }
    public GgufBytes F32(float v) { _w.Write(v); return this; }
    public GgufBytes Str(string s) { var b = Encoding.UTF8.GetBytes(s); _w.Write((ulong)b.Length); _w.Write(b); return this; }
    public GgufBytes Raw(byte[] bytes) { _w.Write(bytes); return this; }

    /// <summary>Header: magic, version, tensor count, kv count.</summary>
    public GgufBytes Header(uint version, ulong tensors, ulong kvs) => Magic().U32(version).U64(tensors).U64(kvs);

    public GgufBytes KvU32(string key, uint v) => Str(key).U32(4).U32(v);
    public GgufBytes KvStr(string key, string v) => Str(key).U32(8).Str(v);

    /// <summary>Tensor info: name, dims, type, offset.</summary>
    public GgufBytes Tensor(string name, long[] shape, uint type, ulong offset)
    {
        Str(name).U32((uint)shape.Length);
        foreach (long d in shape) U64((ulong)d);
        return U32(type).U64(offset);
    }

    public GgufBytes PadTo(int alignment)
    {
        while (_stream.Position % alignment != 0) _w.Write((byte)0);
        return this;
    }

    public GgufBytes Zeros(int count) { _w.Write(new byte[count]); return this; }

    public byte[] ToArray() { _w.Flush(); return _stream.ToArray(); }
}
