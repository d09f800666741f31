namespace SharpInfer.Threading;

/// <summary>What the machine offers to compute with.</summary>
public static class CpuTopology
{
    private static readonly Lazy<int> Physical = new(DetectPhysicalCores);

    /// <summary>
    /// Physical cores available to this process (hyper-threads share execution units, and a matrix-vector
    /// product gains nothing from the second thread of a core). Falls back to the logical count.
    /// </summary>
    public static int PhysicalCores => Physical.Value;

    private static int DetectPhysicalCores()
    {
        int logical = Environment.ProcessorCount;
        try
        {
            if (!OperatingSystem.IsLinux()) return logical;
            var cores = new HashSet<string>();
            for (int cpu = 0; cpu < 4096; cpu++)
            {
                string dir = $"/sys/devices/system/cpu/cpu{cpu}/topology";
                if (!Directory.Exists(dir)) break;
                string siblings = File.ReadAllText(Path.Combine(dir, "thread_siblings_list")).Trim();
                cores.Add(siblings);
            }
            return cores.Count == 0 ? logical : Math.Clamp(cores.Count, 1, logical);
        }
        catch (IOException)
        {
            return logical;
        }
        catch (UnauthorizedAccessException)
        {
            return logical;
        }
    }
}
