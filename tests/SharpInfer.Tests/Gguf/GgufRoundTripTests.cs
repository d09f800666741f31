using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Gguf;

public class GgufRoundTripTests
{
    public static TheoryData<string> Files => GgufReaderTests.ReadableFiles();

    [Theory]
    [MemberData(nameof(Files))]
    public void ReadWriteReadIsByteIdentical(string relative)
    {
        string path = SharedData.File(relative);
        var original = File.ReadAllBytes(path);
        using var file = GgufFile.Open(path);
        using var stream = new MemoryStream();
        GgufWriter.FromFile(file).WriteTo(stream);
        var written = stream.ToArray();
        Assert.Equal(original.Length, written.Length);
        int diff = Array.FindIndex(original, i => false);
        for (int i = 0; i < original.Length; i++)
        {
            if (original[i] != written[i]) Assert.Fail($"{relative}: first difference at byte {i}");
        }
        using var again = GgufFile.FromBytes(written);
        Assert.Equal(file.Metadata.Count, again.Metadata.Count);
        Assert.Equal(file.Tensors.Select(t => t.ToString()), again.Tensors.Select(t => t.ToString()));
    }

    [Fact]
    public void WriterRefusesWrongDataLengthAndDuplicateNames()
    {
        var w = new GgufWriter();
        w.AddTensor("a", GgmlType.F32, [4], new byte[12]);
        Assert.Throws<ArgumentException>(() => w.AddTensor("a", GgmlType.F32, [4], new byte[16]));
        Assert.Throws<InvalidOperationException>(() => w.WriteTo(new MemoryStream()));
        Assert.Throws<ArgumentException>(() => w.AddTensor("q", GgmlType.Q4_0, [31], new byte[18]));
    }

    [Fact]
    public void SaveIsAtomic()
    {
        string dir = Directory.CreateTempSubdirectory("sharpinfer-").FullName;
        try
        {
            string target = Path.Combine(dir, "out.gguf");
            var previous = new GgufWriter();
            previous.AddTensor("old", GgmlType.F32, [4], new byte[16]);
            previous.Save(target);
            byte[] before = File.ReadAllBytes(target);
            var w = new GgufWriter();
            w.AddTensor("bad", GgmlType.F32, [4], _ => throw new IOException("disk on fire"));
            Assert.Equal("disk on fire", Assert.Throws<IOException>(() => w.Save(target)).Message);
            Assert.Equal(before, File.ReadAllBytes(target));
            Assert.Single(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
