using SharpInfer.Tensors;

namespace SharpInfer.Tests.Tensors;

/// <summary>Native buffers: zeroed, aligned, and paged in huge pages where they are large enough to hold one.</summary>
public sealed unsafe class NativeBufferTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData((2 << 20) + 3)]
    [InlineData(5 << 20)]
    public void BufferIsZeroedAndAligned(int bytes)
    {
        using var b = new NativeBuffer<byte>(bytes);
        Assert.Equal(bytes, b.ByteSize);
        Assert.Equal(0, (long)b.Pointer % 64);
        Assert.True(b.Span.IndexOfAnyExcept((byte)0) < 0);
        b.Span.Fill(0xA5);
        Assert.Equal(0xA5, b.Pointer[bytes - 1]);
    }

    [LinuxFact]
    public void LargeBufferStartsOnAHugePageAndAsksForHugePages()
    {
        using var large = new NativeBuffer<float>(3 << 20); // 12 MiB
        Assert.Equal(0, (long)large.Pointer % MemoryAdvice.HugePageBytes);
        Assert.Contains("hg", ProcessMemory.VmFlagsOf(large.Pointer));
        // Past the last whole huge page the advice stops, so the buffer holds no memory beyond its own length.
        using var odd = new NativeBuffer<byte>(MemoryAdvice.HugePageBytes + 4096 * 3);
        Assert.Contains("hg", ProcessMemory.VmFlagsOf(odd.Pointer));
        Assert.DoesNotContain("hg", ProcessMemory.VmFlagsOf(odd.Pointer + MemoryAdvice.HugePageBytes));
    }

    [HugePagesFact]
    public void LargeBufferIsCountedInHugePages()
    {
        using var b = new NativeBuffer<byte>(16 << 20);
        long? huge = MemoryAdvice.HugeMappedBytes(b.Pointer + 5);
        Assert.NotNull(huge);
        // Cleared on allocation, so its pages are present: whole huge pages, at least one, none past the buffer.
        Assert.InRange(huge!.Value, MemoryAdvice.HugePageBytes, 16 << 20);
        Assert.Equal(0, huge.Value % MemoryAdvice.HugePageBytes);
    }

    [Fact]
    public void HugePageCountIsTheMappingsOwnFromItsSmapsLines()
    {
        string[] smaps =
        [
            "7f0000000000-7f0000400000 r--s 00000000 fe:00 1234                       /m/model.gguf",
            "Size:               4096 kB",
            "AnonHugePages:         0 kB",
            "FilePmdMapped:      2048 kB",
            "VmFlags: rd sh mr mw me ms hg",
            "7f0000400000-7f0000c00000 rw-p 00000000 00:00 0",
            "AnonHugePages:      6144 kB",
            "FilePmdMapped:         0 kB",
            "VmFlags: rd wr mr mw me ac hg",
            "7f0000c00000-7f0000d00000 rw-p 00000000 00:00 0",
            "AnonHugePages:      1024 kB",
        ];
        Assert.Equal(2048L * 1024, MemoryAdvice.HugeMappedBytes((nuint)0x7f0000000000, smaps));
        Assert.Equal(2048L * 1024, MemoryAdvice.HugeMappedBytes((nuint)0x7f00003fffff, smaps));
        Assert.Equal(6144L * 1024, MemoryAdvice.HugeMappedBytes((nuint)0x7f0000400000, smaps));
        Assert.Equal(1024L * 1024, MemoryAdvice.HugeMappedBytes((nuint)0x7f0000c00010, smaps));
        Assert.Null(MemoryAdvice.HugeMappedBytes((nuint)0x7f0000d00000, smaps));
    }
}
