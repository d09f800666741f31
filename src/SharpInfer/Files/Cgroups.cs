namespace SharpInfer.Files;

/// <summary>
/// Reading the Linux control groups that limit this process (CPU quota, memory limit): every directory on the
/// process's cgroup path, leaf first, in v2's unified tree or in a v1 controller's hierarchy (mounted at the
/// process's own group inside most containers, else at the root).
/// </summary>
internal static class Cgroups
{
    /// <summary>The directories whose <paramref name="v1Controller"/> (v1) or unified (v2) files apply to this process.</summary>
    public static IEnumerable<string> Directories(string v1Controller, string v1Mount)
    {
        string? membership = ReadOrNull("/proc/self/cgroup");
        if (membership is null) yield break;
        foreach (string line in membership.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3) continue;
            if (parts[0] == "0" && parts[1].Length == 0)
            {
                // v2: every level of the path can carry its own limit.
                for (string? dir = parts[2]; dir is not null; dir = dir == "/" ? null : Path.GetDirectoryName(dir))
                {
                    yield return Path.Combine("/sys/fs/cgroup", dir.TrimStart('/'));
                }
            }
            else if (parts[1].Split(',').Contains(v1Controller))
            {
                yield return Path.Combine(v1Mount, parts[2].TrimStart('/'));
                yield return v1Mount;
            }
        }
    }

    /// <summary>A small system file's text, or null when it is absent or unreadable.</summary>
    public static string? ReadOrNull(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
