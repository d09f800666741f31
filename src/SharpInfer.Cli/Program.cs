using SharpInfer.Cli;

Console.OutputEncoding = System.Text.Encoding.UTF8;
using var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false)) { AutoFlush = true };
using var stderr = new StreamWriter(Console.OpenStandardError(), new System.Text.UTF8Encoding(false)) { AutoFlush = true };
using var cancel = new CancellationTokenSource();
var interrupts = new CliInterrupts();
Console.CancelKeyPress += (_, e) =>
{
    // A command that captured Ctrl+C (chat) handles it itself.
    if (e.SpecialKey == ConsoleSpecialKey.ControlC && interrupts.TryHandle())
    {
        e.Cancel = true;
        return;
    }
    // First Ctrl+C stops generation cleanly; a second one kills the process.
    if (!cancel.IsCancellationRequested)
    {
        e.Cancel = true;
        cancel.Cancel();
    }
};
// Piped input is read as UTF-8 whatever the locale says. A terminal is read by the program itself, which takes Ctrl+C as
// a key while a command (chat) reads it, and echoes keys through a writer of its own (replies stream through stdout at
// the same time; the echo goes to stderr when stdout is a file); neither reader is disposed, since a read may still be
// waiting when a command ends.
TextReader stdin = Console.IsInputRedirected
    ? new StreamReader(Console.OpenStandardInput(), new System.Text.UTF8Encoding(false))
    : new SharpInfer.Cli.Terminal.TerminalLineReader(
        new StreamWriter(Console.IsOutputRedirected ? Console.OpenStandardError() : Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false)) { AutoFlush = true },
        interrupts, () => cancel.Cancel());
var io = new CliIO(stdout, stderr, cancel.Token) { In = stdin, Interactive = !Console.IsInputRedirected, Interrupts = interrupts };
return await CliApp.RunAsync(args, io);
