using System.Runtime.InteropServices;
using SharpInfer.Cli;
using SharpInfer.Files;

Console.OutputEncoding = System.Text.Encoding.UTF8;
using var stdout = new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(false)) { AutoFlush = true };
using var stderr = new StreamWriter(Console.OpenStandardError(), new System.Text.UTF8Encoding(false)) { AutoFlush = true };
using var cancel = new CancellationTokenSource();
int signalExitCode = 0;

// The first SIGINT (Ctrl+C) or SIGTERM cancels the command: generation stops, a file being written is removed, and
// the exit code says which signal (130, 143). A second one means the user will not wait: what was being written is
// removed now and the signal's default action ends the process.
void OnSignal(PosixSignalContext context)
{
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
int code = await CliApp.RunAsync(args, stdout, stderr, cancel.Token);
int signal = Volatile.Read(ref signalExitCode);
// A command that stopped cleanly on the signal (generation cut short, a write rolled back) still reports it.
return signal != 0 && code is 0 or CliApp.Cancelled ? signal : code;
