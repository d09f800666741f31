using System.Globalization;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace SharpInfer.Tests;

/// <summary>What Linux says about this process's memory: a mapping's flags and a file's page-cache residency.</summary>
public static unsafe class ProcessMemory
{
    /// <summary>The VmFlags (<c>rd</c>, <c>hg</c>, …) of the mapping in /proc/self/smaps that holds <paramref name="address"/>.</summary>
    public static string[] VmFlagsOf(void* address)
    {
        nuint at = (nuint)address;
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash &&
                nuint.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, null, out var start) &&
                nuint.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, null, out var end))
            {
                inside = at >= start && at < end;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            }
        }
        throw new InvalidOperationException($"no mapping holds 0x{at:x}");
    }

    /// <summary>How many of the file's pages the page cache holds (<c>mincore</c> over a fresh read-only mapping).</summary>
    public static int ResidentPages(string path)
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
                if (mincore(p, (nuint)length, v) != 0) throw new InvalidOperationException("mincore failed: " + Marshal.GetLastPInvokeErrorMessage());
            }
            return vec.Count(b => (b & 1) != 0);
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }

    [DllImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static extern int mincore(void* address, nuint length, byte* vec);
}
