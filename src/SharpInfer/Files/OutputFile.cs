using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SharpInfer.Files;

/// <summary>An output path was refused before anything was written: the file there is not ours to replace.</summary>
public sealed class OutputPathException : IOException
{
    /// <summary>Creates the exception.</summary>
    public OutputPathException(string message) : base(message)
    {
    }
}

/// <summary>
/// The one way SharpInfer writes a file a user names (models from <c>quantize</c> and <c>synth</c>, prompt caches,
/// saved sequences, downloads):
/// <list type="bullet">
/// <item>Only a file of the kind being written (or nothing, or an empty file) is replaced; a directory, a device, a
/// file of another kind or one of the run's inputs is refused with a one-line reason, before any work.</item>
/// <item>Data goes to <c>PATH.tmp-PID</c> beside the target, is fsynced, renamed over the target and the folder
/// fsynced: the target holds the old bytes or the new ones, never a mix, whatever stops the writer.</item>
/// <item>A cancelled or failed write removes its temporary file; one left by a killed process (SIGKILL, power loss)
/// is removed by the next write to the same path.</item>
/// </list>
/// </summary>
public static class OutputFile
{
    private const string TempMarker = ".tmp-";
    private static readonly ConcurrentDictionary<string, byte> Active = new(StringComparer.Ordinal);

    /// <summary>
    /// Checks that <paramref name="path"/> may receive a file of <paramref name="kind"/>: its folder exists, and it is
    /// absent, empty, or a regular file of that kind that is none of <paramref name="inputs"/>. Throws
    /// <see cref="OutputPathException"/> naming the problem otherwise.
    /// </summary>
    public static void CheckTarget(string path, FileKind kind, params IEnumerable<string?> inputs)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new OutputPathException($"{path} is a directory; give a file name to write the {kind.Name} to");
        string folder = Path.GetDirectoryName(full) ?? full;
        if (!Directory.Exists(folder)) throw new OutputPathException($"the output folder {folder} does not exist");
        foreach (string? input in inputs)
        {
            if (input is not null && SameFile(full, input)) throw new OutputPathException($"{path} is an input of this run; write the {kind.Name} to another path");
        }
        var info = new FileInfo(full);
        if (info.LinkTarget is not null)
        {
            // Replacing a link replaces the link, not what it points at; still, what it points at must be ours.
            info = info.ResolveLinkTarget(returnFinalTarget: true) as FileInfo ?? info;
            if (!info.Exists) throw new OutputPathException($"{path} is a link to something that is not a file; refusing to replace it");
        }
        if (!info.Exists) return;
        if (!IsRegularFile(info.FullName)) throw new OutputPathException($"{path} is not a regular file (a device, pipe or socket); refusing to replace it");
        if (info.Length == 0) return;
        if (!kind.Recognises(info.FullName))
        {
            throw new OutputPathException($"{path} exists and is not a {kind.Name}; refusing to replace it (remove it yourself or choose another path)");
        }
    }

    /// <summary>
    /// Writes a file of <paramref name="kind"/> to <paramref name="path"/> atomically (see the class summary).
    /// <paramref name="write"/> receives a stream whose every write observes <paramref name="cancellation"/>;
    /// <paramref name="beforeRename"/> sees the synced file before it takes the target's place.
    /// </summary>
    public static void Write(string path, FileKind kind, Action<Stream> write, CancellationToken cancellation = default,
        IEnumerable<string?>? inputs = null, Action<SafeFileHandle>? beforeRename = null)
    {
        inputs ??= [];
        CheckTarget(path, kind, inputs);
        string full = Path.GetFullPath(path);
        RemoveStaleTemporaries(full);
        string temp = TemporaryPath(full);
        Active[temp] = 0;
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                write(new ObservedStream(stream, ObservedStream.Cancelling(cancellation)));
                cancellation.ThrowIfCancellationRequested();
                stream.Flush(flushToDisk: true);
                beforeRename?.Invoke(stream.SafeFileHandle);
            }
            // The target may have changed while the data was produced: the rule holds at the moment of the rename too.
            CheckTarget(path, kind, inputs);
            File.Move(temp, full, overwrite: true);
            SyncFolder(Path.GetDirectoryName(full)!);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        finally
        {
            Active.TryRemove(temp, out _);
        }
    }

    /// <summary>
    /// Puts a finished file (written elsewhere by its own rules, such as a resumable download) in place of
    /// <paramref name="path"/> by this class's rule: the target is checked as <see cref="Write"/> checks it, the file is
    /// fsynced (and shown to <paramref name="beforeRename"/>), renamed over the target and the folder fsynced.
    /// <paramref name="finished"/> must be in the target's folder, so the rename is atomic.
    /// </summary>
    public static void Commit(string finished, string path, FileKind kind, Action<SafeFileHandle>? beforeRename = null)
    {
        string full = Path.GetFullPath(path);
        string source = Path.GetFullPath(finished);
        if (!string.Equals(Path.GetDirectoryName(source), Path.GetDirectoryName(full), StringComparison.Ordinal))
        {
            throw new ArgumentException($"{finished} must be in the folder of {path} to replace it atomically");
        }
        CheckTarget(path, kind, finished);
        using (var stream = new FileStream(source, FileMode.Open, FileAccess.ReadWrite, FileShare.Read))
        {
            stream.Flush(flushToDisk: true);
            beforeRename?.Invoke(stream.SafeFileHandle);
        }
        File.Move(source, full, overwrite: true);
        SyncFolder(Path.GetDirectoryName(full)!);
    }

    /// <summary>
    /// A new temporary file name for a write of <paramref name="fullPath"/> by this process: the process id (which tells
    /// a dead writer's leftovers from a live one's) and a number of its own, so writes of one path at once never share it.
    /// </summary>
    public static string TemporaryPath(string fullPath) => string.Create(CultureInfo.InvariantCulture,
        $"{fullPath}{TempMarker}{Environment.ProcessId}-{Interlocked.Increment(ref _temporaries)}");

    private static long _temporaries;

    /// <summary>
    /// Removes the temporary files of writes to <paramref name="path"/> whose process no longer runs (killed before
    /// it could clean up); returns how many were removed.
    /// </summary>
    public static int RemoveStaleTemporaries(string path)
    {
        string full = Path.GetFullPath(path);
        string? folder = Path.GetDirectoryName(full);
        if (folder is null || !Directory.Exists(folder)) return 0;
        string prefix = Path.GetFileName(full) + TempMarker;
        int removed = 0;
        foreach (string candidate in Directory.EnumerateFiles(folder, prefix + "*"))
        {
            string pidText = Path.GetFileName(candidate)[prefix.Length..];
            if (pidText.IndexOf('-') is int dash and >= 0) pidText = pidText[..dash];
            if (!int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out int pid)) continue;
            if (pid == Environment.ProcessId || ProcessIsAlive(pid)) continue;
            if (TryDelete(candidate)) removed++;
        }
        return removed;
    }

    /// <summary>
    /// Removes the temporary files of the writes in progress in this process. For a signal handler that is about to
    /// let the process end (a second Ctrl+C): what the process was writing leaves no trace.
    /// </summary>
    public static void RemoveActiveTemporaries()
    {
        foreach (string temp in Active.Keys) TryDelete(temp);
    }

    /// <summary>
    /// Whether two paths name the same file: the same path, links that end at the same file, or hard links of one
    /// file (same device and inode).
    /// </summary>
    public static bool SameFile(string a, string b)
    {
        string fullA = Path.GetFullPath(a), fullB = Path.GetFullPath(b);
        if (string.Equals(fullA, fullB, StringComparison.Ordinal)) return true;
        return FileIdentity.Of(fullA) is { } idA && FileIdentity.Of(fullB) is { } idB && idA == idB;
    }

    private static bool ProcessIsAlive(int pid)
    {
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool IsRegularFile(string path) => FileIdentity.Of(path) is not { } id || id.IsRegularFile;

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Makes the rename itself durable: on Linux a rename lives in the folder until the folder is synced.</summary>
    private static void SyncFolder(string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        try
        {
            int fd = open(folder, 0);
            if (fd < 0) return;
            _ = fsync(fd);
            _ = close(fd);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync")]
    private static extern int fsync(int fd);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int close(int fd);
}
