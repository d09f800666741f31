using System.Runtime.InteropServices;
using SharpInfer.Cli;
using SharpInfer.Files;

Console.OutputEncoding = System.Text.Encoding.UTF8;
using var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false)) { AutoFlush = true };
using var stderr = new StreamWriter(Console.OpenStandardError(), new System.Text.UTF8Encoding(false)) { AutoFlush = true };
using var cancel = new CancellationTokenSource();
var interrupts = new CliInterrupts();
int signalExitCode = 0;

// The first SIGINT (Ctrl+C) or SIGTERM cancels the command: generation stops, a file being written is removed, and
// the exit code says which signal (130, 143). A second one means the user will not wait: what was being written is
// removed now and the signal's default action ends the process. A command that captured Ctrl+C (chat, stopping a
// reply) handles SIGINT itself.
void OnSignal(PosixSignalContext context)
{
    if (context.Signal == PosixSignal.SIGINT && interrupts.TryHandle())
    {
        context.Cancel = true;
        return;
    }
    if (Interlocked.CompareExchange(ref signalExitCode, context.Signal == PosixSignal.SIGTERM ? 143 : CliApp.Cancelled, 0) == 0)
    {
        context.Cancel = true;
        cancel.Cancel();
        return;
    }
    OutputFile.RemoveActiveTemporaries();
}

using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

// Piped input is read as UTF-8 whatever the locale says. A terminal is read by the program itself, which takes Ctrl+C as
// a key while a command (chat) reads it, and echoes keys through a writer of its own (replies stream through stdout at
// the same time; the echo goes to stderr when stdout is a file); neither reader is disposed, since a read may still be
// waiting when a command ends.
TextReader stdin = Console.IsInputRedirected
    ? new StreamReader(Console.OpenStandardInput(), new System.Text.UTF8Encoding(false))
    : new SharpInfer.Cli.Terminal.TerminalLineReader(
        new StreamWriter(Console.IsOutputRedirected ? Console.OpenStandardError() : Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false)) { AutoFlush = true },
        interrupts, () => cancel.Cancel());
var io = new CliIO(stdout, stderr, cancel.Token) { In = stdin, Interactive = !Console.IsInputRedirected, ErrIsTerminal = !Console.IsErrorRedirected, Interrupts = interrupts };
int code = await CliApp.RunAsync(args, io);
int signal = Volatile.Read(ref signalExitCode);
// A command that stopped cleanly on the signal (generation cut short, a write rolled back) still reports it, unless the
// signal is how that command normally ends (serve shuts down gracefully and exits 0).
return signal != 0 && !io.SignalsEndNormally && code is 0 or CliApp.Cancelled ? signal : code;
