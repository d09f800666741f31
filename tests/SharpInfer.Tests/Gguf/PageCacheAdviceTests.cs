using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Gguf;

/// <summary>
/// Model files are mapped with huge-page advice and written files leave the page cache, so that weights come back in
/// 2 MiB folios (Linux; elsewhere both are no-ops and these tests are reported skipped).
/// </summary>
public sealed unsafe class PageCacheAdviceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-pagecache-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [LinuxFact]
    public void MappedFileCarriesTheHugePageAdvice()
    {
        using var file = GgufFile.Open(SharedData.File("models/stories260K.gguf"));
        var flags = ProcessMemory.VmFlagsOf(file.BasePointer);
        Assert.Contains("rd", flags);
        Assert.Contains("hg", flags);
    }

    [Fact]
    public void AFileReadFromBytesHasNoHugePageCount()
    {
        using var bytes = GgufFile.FromBytes(File.ReadAllBytes(SharedData.File("models/stories260K.gguf")));
        Assert.Null(bytes.BytesInHugePages);
    }

    [LinuxFact]
    public void HugePageCountOfAMappedFileIsReadFromItsMapping()
    {
        using var file = GgufFile.Open(SharedData.File("models/stories260K.gguf"));
        // 1.2 MB cannot hold an aligned 2 MiB page, so the mapping is found and has none.
        Assert.Equal(0, file.BytesInHugePages);
    }

    [LinuxFact]
    public void SavedFileIsOnDiskAndOutOfThePageCache()
    {
        var data = new byte[4 << 20];
        new Random(7).NextBytes(data);

        // The control: bytes the kernel has just written stay cached, so the measurement can see residency.
        string plain = Path.Combine(_dir, "plain.bin");
        File.WriteAllBytes(plain, data);
        Assert.True(ProcessMemory.ResidentPages(plain) > 0, "a freshly written file should be resident in the page cache");

        var w = new GgufWriter(3);
        w.AddTensor("t", GgmlType.F32, [data.Length / 4], data);
        string saved = Path.Combine(_dir, "saved.gguf");
        w.Save(saved);
        Assert.Equal(0, ProcessMemory.ResidentPages(saved));

        using var back = GgufFile.Open(saved);
        Assert.Equal(data, back.GetData(back.GetTensor("t")).ToArray());
    }
}
