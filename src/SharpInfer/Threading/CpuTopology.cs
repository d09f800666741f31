using System.Globalization;
using System.Runtime.InteropServices;
using SharpInfer.Files;

namespace SharpInfer.Threading;

/// <summary>
/// What the machine lets this process compute with: the CPUs of its affinity mask (<c>sched_getaffinity</c>, which
/// <c>taskset</c> and container cpusets set), capped by a cgroup CPU quota (<c>cpu.max</c>, or <c>cpu.cfs_quota_us</c>
/// in cgroup v1), which a container's <c>--cpus</c> sets. Threads beyond that wait for a core.
/// </summary>
public static class CpuTopology
{
    private static readonly Lazy<int[]> Allowed = new(AllowedCpus);
    private static readonly Lazy<double?> Quota = new(() => OperatingSystem.IsLinux() ? ReadCgroupQuota() : null);
    private static readonly Lazy<int> Physical = new(DetectPhysicalCores);

    /// <summary>Logical CPUs this process may use: its affinity mask, capped by the cgroup quota (rounded up), at least 1.</summary>
    public static int UsableCpus => Cap(Allowed.Value.Length);

    /// <summary>
    /// Physical cores among the CPUs this process may use (hyper-threads share execution units, and a matrix-vector
    /// product gains nothing from the second thread of a core), capped by the cgroup quota: the default thread count.
    /// </summary>
    public static int PhysicalCores => Physical.Value;

    private static int Cap(int cpus)
    {
        if (Quota.Value is double quota) cpus = Math.Min(cpus, (int)Math.Ceiling(quota));
        return Math.Max(1, cpus);
    }

    private static int DetectPhysicalCores()
    {
        int[] cpus = Allowed.Value;
        if (!OperatingSystem.IsLinux()) return Cap(cpus.Length);
        var cores = new HashSet<string>();
        foreach (int cpu in cpus)
        {
            string siblings = Cgroups.ReadOrNull($"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list")?.Trim() ?? cpu.ToString(CultureInfo.InvariantCulture);
            cores.Add(siblings);
        }
        return Cap(cores.Count);
    }

    /// <summary>The CPU ids of the affinity mask; all of <see cref="Environment.ProcessorCount"/> where it cannot be read.</summary>
    private static int[] AllowedCpus()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                var mask = new byte[512];
                if (sched_getaffinity(0, (nuint)mask.Length, mask) == 0)
                {
                    var cpus = new List<int>();
                    for (int i = 0; i < mask.Length * 8; i++) if ((mask[i >> 3] & (1 << (i & 7))) != 0) cpus.Add(i);
                    if (cpus.Count > 0) return cpus.ToArray();
                }
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
            }
        }
        return Enumerable.Range(0, Environment.ProcessorCount).ToArray();
    }

    /// <summary>The tightest CPU quota on this process's cgroup path (v2 <c>cpu.max</c> up the tree, or v1 CFS), in CPUs.</summary>
    private static double? ReadCgroupQuota()
    {
        double? tightest = null;
        foreach (string dir in Cgroups.Directories("cpu", "/sys/fs/cgroup/cpu"))
        {
            tightest = Min(tightest, ParseCpuMax(Cgroups.ReadOrNull(Path.Combine(dir, "cpu.max"))));
            tightest = Min(tightest, ParseCfsQuota(Cgroups.ReadOrNull(Path.Combine(dir, "cpu.cfs_quota_us")), Cgroups.ReadOrNull(Path.Combine(dir, "cpu.cfs_period_us"))));
        }
        return tightest;
    }

    private static double? Min(double? a, double? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    /// <summary>CPUs granted by a cgroup v2 <c>cpu.max</c> ("QUOTA PERIOD" or "max PERIOD"); null for no limit or unreadable text.</summary>
    public static double? ParseCpuMax(string? text)
    {
        var parts = text?.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts is not { Length: 2 } || parts[0] == "max") return null;
        return ParseRatio(parts[0], parts[1]);
    }

    /// <summary>CPUs granted by cgroup v1 <c>cpu.cfs_quota_us</c> / <c>cpu.cfs_period_us</c>; null for no limit (−1).</summary>
    public static double? ParseCfsQuota(string? quota, string? period) =>
        quota is null || period is null ? null : ParseRatio(quota.Trim(), period.Trim());

    private static double? ParseRatio(string quota, string period)
    {
        if (!long.TryParse(quota, NumberStyles.Integer, CultureInfo.InvariantCulture, out long q) || q <= 0) return null;
        if (!long.TryParse(period, NumberStyles.Integer, CultureInfo.InvariantCulture, out long p) || p <= 0) return null;
        return (double)q / p;
    }

    [DllImport("libc", EntryPoint = "sched_getaffinity")]
    private static extern int sched_getaffinity(int pid, nuint size, byte[] mask);
}
