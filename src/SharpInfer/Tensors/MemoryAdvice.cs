using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SharpInfer.Tensors;

/// <summary>
/// Advice to the Linux kernel about how the memory a step reads should be paged: model files in 2 MiB page-cache
/// folios and large native buffers (KV cache, scratch) in transparent huge pages, each mapped by one page-table entry.
/// Decode reads every weight once per token; on this project's machines 4 KiB pages made eight-sequence decode 7–15 %
/// slower and single-sequence decode up to a third slower (a memory monitor's access sampling stalls the threads every
/// half second under shadow paging, and the TLB covers less). Everything here is best effort: on other systems, or where the kernel refuses, nothing happens and nothing
/// fails.
/// </summary>
internal static unsafe class MemoryAdvice
{
    private const int MadvHugePage = 14;
    private const int FadvDontNeed = 4;

    /// <summary>The size of a huge page on x86-64 and most arm64 kernels.</summary>
    public const long HugePageBytes = 2 << 20;

    /// <summary>
    /// Asks that the memory at <paramref name="address"/> (page-aligned) be backed by huge pages where the kernel
    /// can (<c>MADV_HUGEPAGE</c>): for a file mapping, the pages it reads from then on come in 2 MiB folios (a file
    /// already cached in small pages stays as it is, see <see cref="Evict"/>); anonymous memory is faulted in 2 MiB at a
    /// time wherever a whole aligned 2 MiB lies in the range.
    /// </summary>
    public static void AdviseHugePages(void* address, long length)
    {
        if (!OperatingSystem.IsLinux() || length <= 0) return;
        try { _ = madvise(address, (nuint)length, MadvHugePage); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    /// <summary>
    /// Maps <paramref name="bytes"/> of zeroed anonymous memory starting on a huge-page boundary, advised for huge pages
    /// over the whole ones it covers (not past its end, so it holds no memory beyond its length), in a mapping of its
    /// own: unlike the C heap, which hands freed ranges to later allocations, the advice reaches nothing else. Null
    /// where this is not Linux or the kernel refuses; free with <see cref="UnmapHuge"/>.
    /// </summary>
    public static void* MapHuge(nuint bytes)
    {
        if (!OperatingSystem.IsLinux() || bytes == 0) return null;
        try
        {
            nuint page = (nuint)Environment.SystemPageSize, huge = (nuint)HugePageBytes;
            nuint length = (bytes + page - 1) / page * page, span = length + huge;
            byte* raw = (byte*)mmap(null, span, ProtRead | ProtWrite, MapPrivate | MapAnonymous, -1, 0);
            if (raw == MapFailed) return null;
            byte* start = (byte*)(((nuint)raw + huge - 1) & ~(huge - 1));
            // Only the aligned part stays mapped: trim the slack before and after it.
            if (start > raw) _ = munmap(raw, (nuint)(start - raw));
            nuint tail = span - (nuint)(start - raw) - length;
            if (tail > 0) _ = munmap(start + length, tail);
            AdviseHugePages(start, (long)(bytes / huge * huge));
            return start;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Unmaps memory from <see cref="MapHuge"/> of the same <paramref name="bytes"/>.</summary>
    public static void UnmapHuge(void* address, nuint bytes)
    {
        nuint page = (nuint)Environment.SystemPageSize;
        _ = munmap(address, (bytes + page - 1) / page * page);
    }

    /// <summary>
    /// Whether the kernel hands out transparent huge pages at all (Linux, and not switched to <c>never</c>).
    /// </summary>
    public static bool HugePagesAvailable
    {
        get
        {
            if (!OperatingSystem.IsLinux()) return false;
            try { return !File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled").Contains("[never]", StringComparison.Ordinal); }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        }
    }

    /// <summary>
    /// How many bytes of the mapping that holds <paramref name="address"/> are mapped by huge-page entries now
    /// (<c>FilePmdMapped</c> plus <c>AnonHugePages</c> in /proc/self/smaps; only pages touched so far count), or null
    /// where that cannot be read.
    /// </summary>
    public static long? HugeMappedBytes(void* address)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            return HugeMappedBytes((nuint)address, File.ReadLines("/proc/self/smaps"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary><see cref="HugeMappedBytes(void*)"/> over the lines of an smaps listing.</summary>
    internal static long? HugeMappedBytes(nuint address, IEnumerable<string> smaps)
    {
        bool inside = false;
        long kb = 0;
        foreach (var line in smaps)
        {
            if (TryParseRange(line, out var start, out var end))
            {
                if (inside) break;
                inside = address >= start && address < end;
            }
            else if (inside && (line.StartsWith("FilePmdMapped:", StringComparison.Ordinal) || line.StartsWith("AnonHugePages:", StringComparison.Ordinal)))
            {
                var value = line.AsSpan(line.IndexOf(':') + 1).Trim();
                if (value.EndsWith("kB", StringComparison.Ordinal)) value = value[..^2].Trim();
                kb += long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return inside ? kb * 1024 : null;
    }

    /// <summary>A smaps header line: <c>start-end perms offset dev inode [path]</c>, addresses in hex.</summary>
    private static bool TryParseRange(string line, out nuint start, out nuint end)
    {
        start = end = 0;
        int dash = line.IndexOf('-'), space = line.IndexOf(' ');
        return dash > 0 && space > dash &&
            nuint.TryParse(line.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber, null, out start) &&
            nuint.TryParse(line.AsSpan(dash + 1, space - dash - 1), System.Globalization.NumberStyles.HexNumber, null, out end);
    }

    /// <summary>
    /// Drops the file's pages from the page cache (<c>POSIX_FADV_DONTNEED</c>; call after the data is on disk).
    /// A file the kernel has written stays cached in 4 KiB pages; once evicted, the next reader's mapping reads it
    /// back in huge folios.
    /// </summary>
    public static void Evict(SafeFileHandle file)
    {
        if (!OperatingSystem.IsLinux() || file.IsInvalid) return;
        try { _ = posix_fadvise((int)file.DangerousGetHandle(), 0, 0, FadvDontNeed); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    private const int ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20;
    private static readonly byte* MapFailed = (byte*)-1;

    [DllImport("libc", EntryPoint = "mmap")]
    private static extern void* mmap(void* address, nuint length, int protection, int flags, int fd, long offset);

    [DllImport("libc", EntryPoint = "munmap")]
    private static extern int munmap(void* address, nuint length);

    [DllImport("libc", EntryPoint = "madvise")]
    private static extern int madvise(void* address, nuint length, int advice);

    [DllImport("libc", EntryPoint = "posix_fadvise")]
    private static extern int posix_fadvise(int fd, long offset, long length, int advice);
}
