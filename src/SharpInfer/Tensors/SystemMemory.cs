using System.Globalization;
using SharpInfer.Files;

namespace SharpInfer.Tensors;

/// <summary>
/// How much memory this process can still take before the kernel's OOM killer ends it: the system's
/// <c>MemAvailable</c>, capped by the headroom of every memory cgroup on the process's path (v2 <c>memory.max</c> −
/// <c>memory.current</c>, v1 <c>memory.limit_in_bytes</c> − <c>memory.usage_in_bytes</c>), which is what a
/// container's memory limit sets. Null where none of that can be read (another system).
/// </summary>
public static class SystemMemory
{
    /// <summary>Bytes available to this process now, or null when unknown.</summary>
    public static long? AvailableBytes()
    {
        if (!OperatingSystem.IsLinux()) return null;
        long? available = ParseMemAvailable(Cgroups.ReadOrNull("/proc/meminfo"));
        foreach (string dir in Cgroups.Directories("memory", "/sys/fs/cgroup/memory"))
        {
            available = Min(available, Headroom(Cgroups.ReadOrNull(Path.Combine(dir, "memory.max")), Cgroups.ReadOrNull(Path.Combine(dir, "memory.current"))));
            available = Min(available, Headroom(Cgroups.ReadOrNull(Path.Combine(dir, "memory.limit_in_bytes")), Cgroups.ReadOrNull(Path.Combine(dir, "memory.usage_in_bytes"))));
        }
        return available;
    }

    /// <summary>The <c>MemAvailable</c> line of /proc/meminfo in bytes, or null.</summary>
    public static long? ParseMemAvailable(string? meminfo)
    {
        if (meminfo is null) return null;
        foreach (string line in meminfo.Split('\n'))
        {
            if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
            var fields = line["MemAvailable:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 1 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out long kib) && kib < long.MaxValue / 1024)
            {
                return kib * 1024;
            }
        }
        return null;
    }

    /// <summary>A cgroup's limit minus its usage (bytes, at least 0); null for no limit ("max", or v1's huge number) or unreadable text.</summary>
    public static long? Headroom(string? limit, string? usage)
    {
        if (limit is null) return null;
        string l = limit.Trim();
        if (l == "max" || !long.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out long max)) return null;
        // cgroup v1 reports "no limit" as the largest page-aligned 64-bit value.
        if (max >= long.MaxValue / 2) return null;
        long used = usage is not null && long.TryParse(usage.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out long u) ? u : 0;
        return Math.Max(0, max - used);
    }

    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);
}
