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
// Piped input is read as UTF-8 whatever the locale says; a terminal keeps the console's line editing.
using var stdin = Console.IsInputRedirected ? new StreamReader(Console.OpenStandardInput(), new System.Text.UTF8Encoding(false)) : Console.In;
var io = new CliIO(stdout, stderr, cancel.Token) { In = stdin, Interactive = !Console.IsInputRedirected, Interrupts = interrupts };
return await CliApp.RunAsync(args, io);
