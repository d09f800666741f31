using SharpInfer.Tensors;

namespace SharpInfer.Tests;

/// <summary>
/// A fact that needs Linux. Elsewhere the runner reports it skipped, with the reason, instead of counting a test that
/// returned early as passed. (xunit 2 has no skip at run time; the condition is known when tests are discovered.)
/// </summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "needs Linux (madvise, /proc/self/smaps, posix_fadvise)";
    }
}

/// <summary>A fact that needs transparent huge pages (Linux, not switched to <c>never</c>); reported skipped without them.</summary>
public sealed class HugePagesFactAttribute : FactAttribute
{
    public HugePagesFactAttribute()
    {
        if (!MemoryAdvice.HugePagesAvailable) Skip = "needs transparent huge pages (Linux with /sys/kernel/mm/transparent_hugepage/enabled not 'never')";
    }
}
