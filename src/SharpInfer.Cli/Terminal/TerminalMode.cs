using System.Runtime.InteropServices;

namespace SharpInfer.Cli.Terminal;

/// <summary>
/// Switches a Linux terminal to character-at-a-time input without echo or signal keys (Ctrl+C arrives as byte 3),
/// and back. Output processing is left alone. Only Linux's termios layout is known here; elsewhere
/// <see cref="TryEnterRaw"/> declines.
/// </summary>
internal sealed class TerminalMode : IDisposable
{
    // Linux <termios.h>: tcflag_t c_iflag, c_oflag, c_cflag, c_lflag; cc_t c_line, c_cc[32]; speed_t ispeed, ospeed.
    private const int TermiosBytes = 64;
    private const int LocalFlagsOffset = 12;
    private const int ControlCharsOffset = 17;
    private const int VTime = 5, VMin = 6;
    private const uint Isig = 0x1, Icanon = 0x2, Echo = 0x8, Iexten = 0x8000;

    private readonly int _fd;
    private readonly byte[] _saved;
    private int _restored;

    private TerminalMode(int fd, byte[] saved)
    {
        _fd = fd;
        _saved = saved;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
    }

    /// <summary>Raw input on <paramref name="fd"/>, or null when it is not a Linux terminal.</summary>
    public static TerminalMode? TryEnterRaw(int fd)
    {
        if (!OperatingSystem.IsLinux() || isatty(fd) != 1) return null;
        var saved = new byte[TermiosBytes];
        if (tcgetattr(fd, saved) != 0) return null;
        var raw = (byte[])saved.Clone();
        uint flags = BitConverter.ToUInt32(raw, LocalFlagsOffset) & ~(Isig | Icanon | Echo | Iexten);
        BitConverter.TryWriteBytes(raw.AsSpan(LocalFlagsOffset), flags);
        raw[ControlCharsOffset + VMin] = 1;
        raw[ControlCharsOffset + VTime] = 0;
        return tcsetattr(fd, 0, raw) == 0 ? new TerminalMode(fd, saved) : null;
    }

    /// <summary>Puts the terminal back as it was (once; also at process exit).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _restored, 1) == 0) tcsetattr(_fd, 0, _saved);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int isatty(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int tcgetattr(int fd, byte[] termios);

    [DllImport("libc", SetLastError = true)]
    private static extern int tcsetattr(int fd, int optionalActions, byte[] termios);
}
