using System.Text;
using SharpInfer.Cli;
using SharpInfer.Cli.Terminal;

namespace SharpInfer.Tests.Cli;

/// <summary>The line editing chat uses on a terminal, fed the bytes a raw terminal would send.</summary>
public class TerminalLineReaderTests
{
    private static (TerminalLineReader Reader, StringWriter Echo) Reader(string keys, CliInterrupts? interrupts = null, Action? uncaptured = null)
    {
        var echo = new StringWriter();
        var stream = new MemoryStream(Encoding.UTF8.GetBytes(keys));
        return (new TerminalLineReader(echo, interrupts ?? new CliInterrupts(), uncaptured ?? (() => { }), stream), echo);
    }

    [Fact]
    public void EditsLinesAsATerminalWould()
    {
        // Backspace, Ctrl+W (word), Ctrl+U (line), an arrow key's escape sequence, a tab and a two-byte character.
        var (reader, echo) = Reader("Hel\x7flo\rabc def\x17ghi\rjunk\u0015caf\u00e9\x1b[A\tx\n");
        Assert.Equal("Helo", reader.ReadLine());
        Assert.Equal("abc ghi", reader.ReadLine());
        Assert.Equal("caf\u00e9\tx", reader.ReadLine());
        Assert.Null(reader.ReadLine());
        Assert.Null(reader.ReadLine());
        Assert.StartsWith("Hel\b \blo\nabc def\b \b\b \b\b \bghi\n", echo.ToString());
    }

    [Fact]
    public void CtrlCGoesToTheCapturingCommandAndCtrlDEndsInput()
    {
        var interrupts = new CliInterrupts();
        int interrupted = 0, uncaptured = 0;
        using var capture = interrupts.Capture(() => interrupted++);
        var (reader, echo) = Reader("partial\x03next\r\x04", interrupts, () => uncaptured++);
        Assert.Equal("next", reader.ReadLine());
        Assert.Null(reader.ReadLine());
        Assert.Equal(1, interrupted);
        Assert.Equal(0, uncaptured);
        Assert.Contains("^C", echo.ToString());
    }

    [Fact]
    public void CtrlCWithoutACapturingCommandTakesTheDefaultPath()
    {
        int uncaptured = 0;
        var (reader, _) = Reader("\x03\r", uncaptured: () => uncaptured++);
        Assert.Equal("", reader.ReadLine());
        Assert.Equal(1, uncaptured);
    }
}
