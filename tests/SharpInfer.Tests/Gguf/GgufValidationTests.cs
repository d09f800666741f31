using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Gguf;

/// <summary>Each malformation named in the format's validation rules gets our exception with its offset.</summary>
public class GgufValidationTests
{
    private static GgufFormatException Refuse(byte[] bytes)
    {
        var e = Assert.Throws<GgufFormatException>(() => { using var f = GgufFile.FromBytes(bytes); });
        Assert.False(string.IsNullOrWhiteSpace(e.Expected));
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    private static GgufBytes ValidPrefix(ulong tensors = 0, ulong kvs = 1) =>
        new GgufBytes().Header(3, tensors, kvs).KvStr("general.architecture", "llama");

    [Fact]
    public void BadMagic()
    {
        var e = Refuse(new GgufBytes().Magic("GGML").U32(3).U64(0).U64(0).ToArray());
        Assert.Equal(0, e.Offset);
        Assert.Contains("magic", e.Message);
    }

    [Fact]
    public void EmptyAndTinyFiles()
    {
        Refuse([]);
        Refuse([0x47, 0x47]);
        Assert.Contains("truncated", Refuse(new GgufBytes().Magic().U32(3).U64(0).ToArray()).Message);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(4u)]
    [InlineData(99u)]
    public void UnknownVersion(uint version)
    {
        var e = Refuse(new GgufBytes().Header(version, 0, 0).ToArray());
        Assert.Equal(4, e.Offset);
        Assert.Contains($"version {version}", e.Message);
    }

    [Fact]
    public void BigEndianFile()
    {
        var bytes = new GgufBytes().Magic().Raw([0, 0, 0, 3]).U64(0).U64(0).ToArray();
        Assert.Contains("big-endian", Refuse(bytes).Message);
    }

    [Fact]
    public void UnknownValueType()
    {
        var bytes = new GgufBytes().Header(3, 0, 1).Str("k").U32(13).U32(0).ToArray();
        var e = Refuse(bytes);
        Assert.Contains("value type 13", e.Message);
        Assert.Equal(24 + 8 + 1, e.Offset);
    }

    [Fact]
    public void UnknownArrayElementType()
    {
        Assert.Contains("element type 77", Refuse(new GgufBytes().Header(3, 0, 1).Str("k").U32(9).U32(77).U64(0).ToArray()).Message);
    }

    [Fact]
    public void StringLengthPastEndOfFile()
    {
        var bytes = new GgufBytes().Header(3, 0, 1).Str("k").U32(8).U64(1000).Raw([1, 2, 3]).ToArray();
        Assert.Contains("past the end", Refuse(bytes).Message);
        var key = new GgufBytes().Header(3, 0, 1).U64(ulong.MaxValue).Zeros(16).ToArray();
        Assert.Contains("past the end", Refuse(key).Message);
    }

    [Fact]
    public void ArrayLengthPastEndOfFile()
    {
        var bytes = new GgufBytes().Header(3, 0, 1).Str("k").U32(9).U32(4).U64(1UL << 40).Zeros(16).ToArray();
        Assert.Contains("past the end", Refuse(bytes).Message);
        var strings = new GgufBytes().Header(3, 0, 1).Str("k").U32(9).U32(8).U64(3).Str("ok").ToArray();
        Assert.Contains("past the end", Refuse(strings).Message);
        var lastString = new GgufBytes().Header(3, 0, 1).Str("k").U32(9).U32(8).U64(2).Str("ok").U64(30).Raw([1, 2]).ToArray();
        Assert.Contains("string 1 of 'k'", Refuse(lastString).Message);
    }

    [Fact]
    public void CountOverflow()
    {
        Assert.Contains("metadata count", Refuse(new GgufBytes().Header(3, 0, ulong.MaxValue).ToArray()).Message);
        Assert.Contains("tensor count", Refuse(new GgufBytes().Header(3, 1UL << 62, 0).ToArray()).Message);
    }

    [Fact]
    public void DuplicateKey()
    {
        var bytes = new GgufBytes().Header(3, 0, 2).KvU32("a.b", 1).KvU32("a.b", 2).ToArray();
        var e = Refuse(bytes);
        Assert.Contains("duplicate metadata key 'a.b'", e.Message);
        Assert.Equal(24 + 8 + 3 + 4 + 4, e.Offset);
    }

    [Fact]
    public void DuplicateTensorName()
    {
        var bytes = ValidPrefix(2).Tensor("t", [32], 0, 0).Tensor("t", [32], 0, 128).PadTo(32).Zeros(256).ToArray();
        Assert.Contains("duplicate tensor name", Refuse(bytes).Message);
    }

    [Fact]
    public void UnknownTensorType()
    {
        var bytes = ValidPrefix(1).Tensor("t", [32], 4, 0).PadTo(32).Zeros(128).ToArray();
        Assert.Contains("unknown type 4", Refuse(bytes).Message);
        var far = ValidPrefix(1).Tensor("t", [32], 1000, 0).PadTo(32).Zeros(128).ToArray();
        Assert.Contains("unknown type 1000", Refuse(far).Message);
    }

    [Fact]
    public void TooManyDimensionsAndNegativeSizes()
    {
        Assert.Contains("5 dimensions", Refuse(ValidPrefix(1).Tensor("t", [1, 1, 1, 1, 1], 0, 0).PadTo(32).Zeros(32).ToArray()).Message);
        Assert.Contains("negative", Refuse(ValidPrefix(1).Tensor("t", [-32], 0, 0).PadTo(32).Zeros(32).ToArray()).Message);
        Assert.Contains("overflows", Refuse(ValidPrefix(1).Tensor("t", [1L << 40, 1L << 40], 0, 0).PadTo(32).Zeros(32).ToArray()).Message);
    }

    [Fact]
    public void RowLengthNotAMultipleOfTheBlockSize()
    {
        var bytes = ValidPrefix(1).Tensor("w", [48, 2], (uint)GgmlType.Q4_0, 0).PadTo(32).Zeros(128).ToArray();
        var e = Refuse(bytes);
        Assert.Contains("48", e.Message);
        Assert.Contains("block size 32", e.Message);
    }

    [Fact]
    public void OffsetNotAligned()
    {
        var bytes = ValidPrefix(1).Tensor("t", [8], 0, 16).PadTo(32).Zeros(64).ToArray();
        Assert.Contains("not a multiple of the alignment", Refuse(bytes).Message);
    }

    [Fact]
    public void OffsetOutsideTheDataSection()
    {
        var bytes = ValidPrefix(1).Tensor("t", [8], 0, 1 << 20).PadTo(32).Zeros(64).ToArray();
        Assert.Contains("outside the data section", Refuse(bytes).Message);
        var huge = ValidPrefix(1).Tensor("t", [8], 0, ulong.MaxValue - 31).PadTo(32).Zeros(64).ToArray();
        Assert.Contains("outside the data section", Refuse(huge).Message);
    }

    [Fact]
    public void TensorDataPastEndOfFile()
    {
        var bytes = ValidPrefix(1).Tensor("t", [64], 0, 0).PadTo(32).Zeros(100).ToArray();
        var e = Refuse(bytes);
        Assert.Contains("past the end of the file", e.Message);
        Assert.Contains("'t'", e.Message);
    }

    [Fact]
    public void TruncatedBeforeTheDataSection()
    {
        var full = ValidPrefix(1).Tensor("t", [8], 0, 0).PadTo(32).Zeros(32).ToArray();
        var cut = full[..(full.Length - 40)];
        Refuse(cut);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    [InlineData(48u)]
    public void AlignmentMustBeAPowerOfTwo(uint alignment)
    {
        var bytes = new GgufBytes().Header(3, 0, 1).KvU32("general.alignment", alignment).ToArray();
        Assert.Contains("power of two", Refuse(bytes).Message);
    }

    [Fact]
    public void AlignmentMustBeU32()
    {
        var bytes = new GgufBytes().Header(3, 0, 1).Str("general.alignment").U32(6).F32(32).ToArray();
        Assert.Contains("general.alignment", Refuse(bytes).Message);
    }

    [Fact]
    public void CustomAlignmentIsHonoured()
    {
        var bytes = new GgufBytes().Header(3, 1, 1).KvU32("general.alignment", 64).Tensor("t", [16], 0, 0).PadTo(64).Zeros(64).ToArray();
        using var f = GgufFile.FromBytes(bytes);
        Assert.Equal(64u, f.Alignment);
        Assert.Equal(0, f.DataOffset % 64);
    }

    [Fact]
    public void BooleansOtherThanZeroOrOne()
    {
        Assert.Contains("boolean", Refuse(new GgufBytes().Header(3, 0, 1).Str("b").U32(7).U8(2).ToArray()).Message);
    }

    [Fact]
    public void ArraysNestedTooDeep()
    {
        var b = new GgufBytes().Header(3, 0, 1).Str("deep").U32(9);
        for (int i = 0; i < 200; i++) b.U32(9).U64(1);
        b.U32(4).U64(0);
        Assert.Contains("nested", Refuse(b.ToArray()).Message);
    }
}
