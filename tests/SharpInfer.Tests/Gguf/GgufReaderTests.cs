using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Gguf;

public class GgufReaderTests
{
    public static TheoryData<string> ReadableFiles()
    {
        var data = new TheoryData<string>();
        foreach (var path in SharedData.AllGgufFiles())
        {
            if (path.Contains("gguf-v1") || path.Contains("rows-not-block-aligned")) continue;
            data.Add(Path.GetRelativePath(SharedData.Root, path));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ReadableFiles))]
    public void ReadsEverySharedFile(string relative)
    {
        using var file = GgufFile.Open(SharedData.File(relative));
        Assert.InRange(file.Version, 2u, 3u);
        Assert.True(file.Metadata.Count > 0);
        Assert.True(file.Metadata.Contains("tokenizer.ggml.model"));
        foreach (var t in file.Tensors)
        {
            Assert.True(file.DataOffset + t.Offset + t.ByteSize <= file.FileSize);
            Assert.Equal(0, t.Offset % file.Alignment);
        }
    }

    [Fact]
    public void TypedAccessorsReadStories260K()
    {
        using var file = GgufFile.Open(SharedData.Stories);
        Assert.Equal(3u, file.Version);
        Assert.Equal(32u, file.Alignment);
        Assert.Equal("llama", file.Metadata.GetString("general.architecture"));
        Assert.Equal(5u, file.Metadata.GetUInt32("llama.block_count"));
        Assert.Equal(64, file.Metadata.GetInt32("llama.embedding_length"));
        Assert.Equal(1e-5f, file.Metadata.GetFloat32("llama.attention.layer_norm_rms_epsilon"));
        var tokens = file.Metadata.GetArray("tokenizer.ggml.tokens");
        Assert.Equal(GgufValueType.String, tokens.ElementType);
        Assert.Equal(512, tokens.Count);
        Assert.Equal("<s>", tokens.ToStrings()[1]);
        var embd = file.GetTensor("token_embd.weight");
        Assert.Equal(GgmlType.F32, embd.Type);
        Assert.Equal(new long[] { 64, 512 }, embd.Shape);
        Assert.Equal(64 * 512 * 4, embd.ByteSize);
        var missing = Assert.Throws<KeyNotFoundException>(() => file.Metadata.GetUInt32("llama.nope"));
        Assert.Contains("llama.nope", missing.Message);
        var wrongType = Assert.Throws<InvalidCastException>(() => file.Metadata.GetUInt32("general.name"));
        Assert.Contains("general.name", wrongType.Message);
    }

    [Fact]
    public void VersionOneIsRefusedWithAReason()
    {
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(SharedData.File("models/edge/stories260K-gguf-v1.gguf")));
        Assert.Contains("version 1", e.Message);
        Assert.Equal(4, e.Offset);
    }

    [Fact]
    public void RowsThatAreNotWholeBlocksAreRefusedClearly()
    {
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(SharedData.File("models/edge/stories260K-q8_0-gguf-v2-rows-not-block-aligned.gguf")));
        Assert.Contains("172", e.Message);
        Assert.Contains("block size 32", e.Message);
        Assert.Contains("ffn_down", e.Message);
    }

    [Fact]
    public void ReadsAllThirteenValueTypesAndNestedArrays()
    {
        var w = new GgufWriter();
        w.Metadata.Set("u8", GgufValue.FromUInt8(200));
        w.Metadata.Set("i8", GgufValue.FromInt8(-100));
        w.Metadata.Set("u16", GgufValue.FromUInt16(60000));
        w.Metadata.Set("i16", GgufValue.FromInt16(-30000));
        w.Metadata.Set("u32", GgufValue.FromUInt32(4000000000));
        w.Metadata.Set("i32", GgufValue.FromInt32(-2000000000));
        w.Metadata.Set("f32", GgufValue.FromFloat32(1.5f));
        w.Metadata.Set("bool", GgufValue.FromBool(true));
        w.Metadata.Set("str", GgufValue.FromString("héllo ✓"));
        w.Metadata.Set("u64", GgufValue.FromUInt64(ulong.MaxValue));
        w.Metadata.Set("i64", GgufValue.FromInt64(long.MinValue));
        w.Metadata.Set("f64", GgufValue.FromFloat64(Math.PI));
        var inner1 = new GgufArray(GgufValueType.Int32, new[] { 1, 2, 3 });
        var inner2 = GgufArray.FromStrings(["a", "bc"]);
        var innerArrays = new GgufArray(GgufValueType.Array, new[] { new GgufArray(GgufValueType.Array, new[] { inner1 }), new GgufArray(GgufValueType.Array, new[] { inner2 }) });
        w.Metadata.Set("nested", GgufValue.FromArray(innerArrays));
        w.Metadata.Set("bools", GgufValue.FromArray(new GgufArray(GgufValueType.Bool, new[] { true, false, true })));
        using var stream = new MemoryStream();
        w.WriteTo(stream);

        using var file = GgufFile.FromBytes(stream.ToArray());
        var m = file.Metadata;
        Assert.Equal(200u, m.GetUInt32("u8"));
        Assert.Equal(-100, m.GetInt32("i8"));
        Assert.Equal(60000u, m.GetUInt32("u16"));
        Assert.Equal(-30000, m.GetInt32("i16"));
        Assert.Equal(4000000000u, m.GetUInt32("u32"));
        Assert.Equal(-2000000000, m.GetInt32("i32"));
        Assert.Equal(1.5f, m.GetFloat32("f32"));
        Assert.True(m.GetBool("bool"));
        Assert.Equal("héllo ✓", m.GetString("str"));
        Assert.Equal(ulong.MaxValue, m.GetUInt64("u64"));
        Assert.Equal(long.MinValue, m.GetInt64("i64"));
        Assert.Equal(Math.PI, m.Get("f64").AsDouble());
        var nested = m.GetArray("nested").As<GgufArray>();
        Assert.Equal(new[] { 1, 2, 3 }, nested[0].As<GgufArray>()[0].As<int>());
        Assert.Equal(["a", "bc"], nested[1].As<GgufArray>()[0].ToStrings());
        Assert.Equal(new[] { true, false, true }, m.GetArray("bools").As<bool>());
        Assert.Throws<OverflowException>(() => checked((int)m.GetUInt64("u64")));
        Assert.Throws<InvalidCastException>(() => m.GetInt32("u32"));
    }

    [Fact]
    public void ReadsAVersionTwoFile()
    {
        var bytes = new GgufBytes().Header(2, 1, 1).KvStr("general.architecture", "x")
            .Tensor("t", [32], (uint)GgmlType.F32, 0).PadTo(32).Zeros(128).ToArray();
        using var file = GgufFile.FromBytes(bytes);
        Assert.Equal(2u, file.Version);
        Assert.Equal(128, file.GetTensor("t").ByteSize);
    }

    [Fact]
    public void TensorDataIsZeroCopy()
    {
        using var file = GgufFile.Open(SharedData.Stories);
        var t = file.GetTensor("output_norm.weight");
        unsafe
        {
            fixed (byte* span = file.GetData(t))
            {
                Assert.True(span == file.GetDataPointer(t));
                Assert.True(span >= file.BasePointer && span < file.BasePointer + file.FileSize);
            }
        }
    }
}
