using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Gguf;

/// <summary>
/// Model files are mapped with huge-page advice and written files leave the page cache, so that weights come back in
/// 2 MiB folios (Linux; elsewhere both are no-ops and these tests have nothing to check).
/// </summary>
public sealed unsafe class PageCacheAdviceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-pagecache-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void MappedFileCarriesTheHugePageAdvice()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var file = GgufFile.Open(SharedData.File("models/stories260K.gguf"));
        var flags = VmFlagsOf((nuint)file.BasePointer);
        Assert.Contains("rd", flags);
        Assert.Contains("hg", flags);
    }

    [Fact]
    public void SavedFileIsOnDiskAndOutOfThePageCache()
    {
        if (!OperatingSystem.IsLinux()) return;
        var data = new byte[4 << 20];
        new Random(7).NextBytes(data);

        // The control: bytes the kernel has just written stay cached, so the measurement can see residency.
        string plain = Path.Combine(_dir, "plain.bin");
        File.WriteAllBytes(plain, data);
        Assert.True(ResidentPages(plain) > 0, "a freshly written file should be resident in the page cache");

        var w = new GgufWriter(3);
        w.AddTensor("t", GgmlType.F32, [data.Length / 4], data);
        string saved = Path.Combine(_dir, "saved.gguf");
        w.Save(saved);
        Assert.Equal(0, ResidentPages(saved));

        using var back = GgufFile.Open(saved);
        Assert.Equal(data, back.GetData(back.GetTensor("t")).ToArray());
    }

    /// <summary>The VmFlags line of the mapping in /proc/self/smaps that holds <paramref name="address"/>.</summary>
    private static string[] VmFlagsOf(nuint address)
    {
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash &&
                nuint.TryParse(line.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber, null, out var start) &&
                nuint.TryParse(line.AsSpan(dash + 1, space - dash - 1), System.Globalization.NumberStyles.HexNumber, null, out var end))
            {
                inside = address >= start && address < end;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            }
        }
        throw new InvalidOperationException($"no mapping holds 0x{address:x}");
    }

    /// <summary>How many of the file's pages the page cache holds (<c>mincore</c> over a fresh read-only mapping).</summary>
    private static int ResidentPages(string path)
    {
        long length = new FileInfo(path).Length;
        using var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        try
        {
            int pages = (int)((length + Environment.SystemPageSize - 1) / Environment.SystemPageSize);
            var vec = new byte[pages];
            fixed (byte* v = vec)
            {
                Assert.Equal(0, mincore(p, (nuint)length, v));
            }
            return vec.Count(b => (b & 1) != 0);
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }

    [DllImport("libc", EntryPoint = "mincore")]
    private static extern int mincore(void* address, nuint length, byte* vec);
}
