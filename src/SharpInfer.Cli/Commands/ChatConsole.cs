using System.Globalization;
using SharpInfer.Chat;
using SharpInfer.Inference;
using SharpInfer.Templates;

namespace SharpInfer.Cli.Commands;

/// <summary>
/// The read–reply loop of <c>sharpinfer chat</c>. Lines starting with '/' are commands (/reset, /system TEXT, /exit;
/// "//" sends a message that starts with '/'); every other non-empty line is a user message whose reply streams to
/// standard output. Ctrl+C during a reply stops it; Ctrl+C at the prompt leaves. With piped input only replies go to
/// standard output, one per line.
/// </summary>
internal sealed class ChatConsole(CliIO io, ChatSession session, GenerationOptions generation)
{
    private readonly object _gate = new();
    private CancellationTokenSource? _reply;
    private TaskCompletionSource? _leave;
    private Task<string?>? _pendingRead;
    private bool _failed;

    public async Task<int> RunAsync()
    {
        using var capture = io.Interrupts.Capture(OnInterrupt);
        (io.In as Terminal.TerminalLineReader)?.Start();
        while (true)
        {
            if (io.Interactive) io.Out.Write("> ");
            string? line = await ReadLineAsync();
            if (line is null) break;
            line = line.TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            if (line.StartsWith('/') && !line.StartsWith("//"))
            {
                if (!RunCommand(line)) break;
                continue;
            }
            Reply(line.StartsWith("//") ? line[1..] : line);
        }
        if (io.Interactive) io.Out.WriteLine();
        return _failed ? CliApp.Failure : 0;
    }

    /// <summary>Ctrl+C: stops the reply being generated, or, at the prompt, leaves the chat.</summary>
    private void OnInterrupt()
    {
        lock (_gate)
        {
            if (_reply is not null) _reply.Cancel();
            else _leave?.TrySetResult();
        }
    }

    /// <summary>The next line, or null at the end of input or when Ctrl+C at the prompt asks to leave.</summary>
    private async Task<string?> ReadLineAsync()
    {
        var leave = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate) _leave = leave;
        // Console reads block; a read left pending by Ctrl+C is not needed any more, since the chat ends.
        _pendingRead ??= Task.Run(io.In.ReadLine);
        // SIGTERM (or a cancelled caller) also ends the wait: nothing else would wake a blocked console read.
        using var cancelled = io.Cancellation.Register(() => leave.TrySetResult());
        var done = await Task.WhenAny(_pendingRead, leave.Task).ConfigureAwait(false);
        lock (_gate) _leave = null;
        if (done != _pendingRead) return null;
        string? line = await _pendingRead.ConfigureAwait(false);
        _pendingRead = null;
        return line;
    }

    /// <summary>Runs a slash command; false when it asks to leave.</summary>
    private bool RunCommand(string line)
    {
        string name = line.Split(' ', 2)[0];
        string argument = line.Length > name.Length ? line[(name.Length + 1)..].Trim() : "";
        switch (name)
        {
            case "/exit" or "/quit":
                return false;
            case "/reset":
                session.Reset();
                io.Err.WriteLine("conversation cleared");
                return true;
            case "/system":
                session.SystemPrompt = argument.Length > 0 ? argument : null;
                io.Err.WriteLine(argument.Length > 0 ? "system prompt set" : "system prompt removed");
                return true;
            case "/help":
                io.Err.WriteLine("/reset clears the conversation, /system TEXT sets the system prompt (/system alone removes it), /exit leaves; start a message with // to send one that begins with /");
                return true;
            default:
                io.Err.WriteLine($"unknown command '{name}' (try /help; start a message with // to send one that begins with /)");
                return true;
        }
    }

    private void Reply(string message)
    {
        var reply = CancellationTokenSource.CreateLinkedTokenSource(io.Cancellation);
        lock (_gate) _reply = reply;
        try
        {
            var result = session.Send(message, generation, piece => io.Out.Write(piece), reply.Token);
            io.Out.WriteLine();
            Report(result);
        }
        catch (OperationCanceledException)
        {
            io.Out.WriteLine();
            io.Err.WriteLine("(stopped before the reply began; the message was not kept)");
        }
        catch (Exception e) when (e is TemplateException or ArgumentException)
        {
            io.Err.WriteLine($"error: {CliErrors.Describe(e)}");
            _failed = true;
        }
        finally
        {
            lock (_gate) _reply = null;
            reply.Dispose();
        }
    }

    private void Report(ChatReply result)
    {
        if (result.StopReason == StopReason.Cancelled) io.Err.WriteLine("(reply stopped)");
        if (result.StopReason == StopReason.ContextFull) io.Err.WriteLine("the context is full: the reply was cut short (raise -c for longer conversations)");
        if (!io.Interactive) return;
        double tps = result.GenerationMs > 0 ? result.GeneratedTokens / (result.GenerationMs / 1000) : 0;
        io.Err.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"[prompt: {result.PromptTokens} tokens, {result.PromptTokens - result.ReusedTokens} evaluated, {result.ReusedTokens} reused from the cache | reply: {result.GeneratedTokens} tokens, {tps:F1} t/s]"));
    }
}
