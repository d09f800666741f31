using System.Diagnostics;
using System.Runtime.InteropServices;

namespace SharpInfer.Tests.Hostile;

/// <summary>
/// The command line in a child process (<c>dotnet SharpInfer.Cli.dll …</c>), for what cannot happen in-process:
/// signals, and exit codes as a shell sees them.
/// </summary>
public sealed class ChildCli : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stdout, _stderr;

    public ChildCli(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SharpInfer.Cli.dll"));
        foreach (string a in args) start.ArgumentList.Add(a);
        _process = Process.Start(start)!;
        _stdout = _process.StandardOutput.ReadToEndAsync();
        _stderr = _process.StandardError.ReadToEndAsync();
    }

    public int Id => _process.Id;

    public const int SigInt = 2, SigKill = 9, SigTerm = 15;

    public void Signal(int signal)
    {
        if (kill(_process.Id, signal) != 0) throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>Waits for the exit; returns the exit code, stdout and stderr.</summary>
    public (int Code, string Out, string Err) Wait(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the child did not exit within {timeout.TotalSeconds} s; stderr so far: {(_stderr.IsCompleted ? _stderr.Result : "(open)")}");
        }
        return (_process.ExitCode, _stdout.GetAwaiter().GetResult(), _stderr.GetAwaiter().GetResult());
    }

    /// <summary>Polls until <paramref name="condition"/> holds; false when <paramref name="timeout"/> passes first or the child exits.</summary>
    public bool WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (condition()) return true;
            if (_process.HasExited) return condition();
            Thread.Sleep(20);
        }
        return false;
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    /// <summary>Whether this test process ignores SIGINT (started in the background by a shell): its children then inherit that.</summary>
    public static bool SigIntIgnoredHere()
    {
        if (!OperatingSystem.IsLinux()) return false;
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
            {
                ulong mask = Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16);
                return (mask & (1UL << (SigInt - 1))) != 0;
            }
        }
        return false;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}

/// <summary>A fact that sends signals to a child process: Linux, and (for SIGINT) a test process that does not ignore it.</summary>
public sealed class SignalFactAttribute : FactAttribute
{
    public SignalFactAttribute(bool needsSigInt = false)
    {
        if (!OperatingSystem.IsLinux()) Skip = "needs Linux signals";
        else if (needsSigInt && ChildCli.SigIntIgnoredHere()) Skip = "this test process ignores SIGINT (started in the background), and a child inherits that";
    }
}
