using System.Collections.Concurrent;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace SharpInfer.Cli.Terminal;

/// <summary>
/// Standard input from a terminal, read by this program itself once a command first asks for a line (chat): the
/// terminal is put in raw mode and a background thread reads keys, echoes them and edits the line (Backspace,
/// Ctrl+U, Ctrl+W; Enter submits; Ctrl+D on an empty line ends input). Ctrl+C is read as a key and delivered to
/// <see cref="CliInterrupts"/> at once, also while a reply is being written: the runtime's signal path proved unreliable
/// for that under load. Other commands never call it, so their terminal stays untouched and Ctrl+C stays a signal.
/// </summary>
internal sealed class TerminalLineReader(TextWriter echo, CliInterrupts interrupts, Action uncapturedInterrupt, Stream? keys = null) : TextReader
{
    private const int StdIn = 0;
    private readonly BlockingCollection<string?> _lines = new();
    private readonly object _start = new();
    private readonly StringBuilder _line = new();
    private readonly Decoder _utf8 = new UTF8Encoding(false).GetDecoder();
    private TerminalMode? _mode;
    private bool _started;
    private bool _ended;

    /// <summary>Takes over the terminal now (before a prompt is shown, so that what is typed after it is not echoed twice).</summary>
    public void Start() => EnsureStarted();

    public override string? ReadLine()
    {
        EnsureStarted();
        if (_ended && _lines.Count == 0) return null;
        string? line = _lines.Take();
        if (line is null) _ended = true;
        return line;
    }

    private void EnsureStarted()
    {
        lock (_start)
        {
            if (_started) return;
            _started = true;
            // Given keys (tests) are read as a raw terminal's would be.
            _mode = keys is null ? TerminalMode.TryEnterRaw(StdIn) : null;
            var thread = new Thread(keys is not null || _mode is not null ? ReadKeys : ReadCooked) { IsBackground = true, Name = "sharpinfer-stdin" };
            thread.Start();
        }
    }

    /// <summary>Without raw mode (not Linux, or no termios): the terminal's own line editing, Ctrl+C stays a signal.</summary>
    private void ReadCooked()
    {
        using var reader = new StreamReader(OpenStdIn(), new UTF8Encoding(false));
        while (reader.ReadLine() is { } line) _lines.Add(line);
        _lines.Add(null);
    }

    private static FileStream OpenStdIn() => new(new SafeFileHandle(StdIn, ownsHandle: false), FileAccess.Read, 1);

    private void ReadKeys()
    {
        using var input = keys ?? OpenStdIn();
        var buffer = new byte[256];
        var pending = new Queue<byte>();
        while (true)
        {
            int n;
            try
            {
                n = input.Read(buffer, 0, buffer.Length);
            }
            catch (IOException)
            {
                n = 0;
            }
            if (n == 0)
            {
                _lines.Add(null);
                return;
            }
            for (int i = 0; i < n; i++) pending.Enqueue(buffer[i]);
            while (pending.Count > 0) Key(pending);
        }
    }

    /// <summary>Handles the next key (or escape sequence) from <paramref name="bytes"/>.</summary>
    private void Key(Queue<byte> bytes)
    {
        byte b = bytes.Dequeue();
        switch (b)
        {
            case 3: // Ctrl+C
                _line.Clear();
                Echo("^C");
                if (!interrupts.TryHandle()) uncapturedInterrupt();
                return;
            case 4: // Ctrl+D
                if (_line.Length == 0) _lines.Add(null);
                return;
            case (byte)'\r' or (byte)'\n':
                Echo("\n");
                _lines.Add(_line.ToString());
                _line.Clear();
                return;
            case 0x7f or 0x08: // Backspace
                Erase(1);
                return;
            case 0x15: // Ctrl+U: the whole line
                Erase(_line.Length);
                return;
            case 0x17: // Ctrl+W: the word before the cursor
                int end = _line.Length, start = end;
                while (start > 0 && _line[start - 1] == ' ') start--;
                while (start > 0 && _line[start - 1] != ' ') start--;
                Erase(end - start);
                return;
            case 0x1b: // Escape sequences (arrows, function keys) are not line editing here: skip them.
                if (bytes.Count > 0 && bytes.Peek() is (byte)'[' or (byte)'O')
                {
                    bytes.Dequeue();
                    while (bytes.Count > 0 && bytes.Dequeue() is < 0x40 or > 0x7e) { }
                }
                return;
        }
        if (b < 0x20 && b != (byte)'\t') return;
        var chars = new char[2];
        int count = _utf8.GetChars([b], 0, 1, chars, 0);
        if (count == 0) return;
        _line.Append(chars, 0, count);
        Echo(new string(chars, 0, count));
    }

    /// <summary>Removes <paramref name="count"/> characters (a surrogate pair counts as one) from the line and the screen.</summary>
    private void Erase(int count)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < count && _line.Length > 0; i++)
        {
            int width = _line.Length > 1 && char.IsLowSurrogate(_line[^1]) ? 2 : 1;
            _line.Length -= width;
            sb.Append("\b \b");
        }
        Echo(sb.ToString());
    }

    private void Echo(string text) => echo.Write(text);

    protected override void Dispose(bool disposing)
    {
        _mode?.Dispose();
        base.Dispose(disposing);
    }
}
