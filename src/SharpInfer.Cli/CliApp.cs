using System.CommandLine;
using SharpInfer.Cli.Commands;

namespace SharpInfer.Cli;

/// <summary>
/// The <c>sharpinfer</c> command line. Every failure becomes one line on stderr naming what was wrong and a
/// non-zero exit code; nothing escapes as an unhandled exception.
/// </summary>
public static class CliApp
{
    /// <summary>Exit code for bad usage (unknown option, missing argument).</summary>
    public const int UsageError = 2;

    /// <summary>Exit code for a failure while running a command (bad file, bad model, I/O).</summary>
    public const int Failure = 1;

    /// <summary>Runs the command line with the given streams (used by Program and by tests in-process).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellation = default) =>
        RunAsync(args, new CliIO(stdout, stderr, cancellation));

    /// <summary>Runs the command line with the given streams, standard input and Ctrl+C routing.</summary>
    public static async Task<int> RunAsync(string[] args, CliIO io)
    {
        var (stdout, stderr, cancellation) = (io.Out, io.Err, io.Cancellation);
        var root = new RootCommand("SharpInfer: run GGUF language models in pure C#.");
        foreach (var command in CommandSet.Create(io)) root.Subcommands.Add(command);

        ParseResult parse;
        try
        {
            parse = root.Parse(args);
        }
        catch (Exception e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return UsageError;
        }
        if (parse.Errors.Count > 0)
        {
            string command = parse.CommandResult.Command == root ? "sharpinfer" : $"sharpinfer {parse.CommandResult.Command.Name}";
            await stderr.WriteLineAsync($"error: {parse.Errors[0].Message} (see '{command} --help')");
            return UsageError;
        }
        if (FindStrayOption(parse) is { } stray)
        {
            await stderr.WriteLineAsync($"error: unknown option '{stray}' (see 'sharpinfer {parse.CommandResult.Command.Name} --help')");
            return UsageError;
        }
        try
        {
            var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
            return await parse.InvokeAsync(config, cancellation);
        }
        catch (OperationCanceledException)
        {
            await stderr.WriteLineAsync("cancelled");
            return 130;
        }
        catch (Exception e)
        {
            await stderr.WriteLineAsync($"error: {CliErrors.Describe(e)}");
            return Failure;
        }
    }

    /// <summary>
    /// System.CommandLine binds an unknown "--flag" to a free positional argument; a positional value that looks
    /// like an option and is not an existing file is reported as the unknown option it almost surely is.
    /// </summary>
    private static string? FindStrayOption(ParseResult parse)
    {
        foreach (var argument in parse.CommandResult.Children.OfType<System.CommandLine.Parsing.ArgumentResult>())
        {
            foreach (var token in argument.Tokens)
            {
                string v = token.Value;
                bool looksLikeOption = v.Length > 1 && v[0] == '-' && (v[1] == '-' || char.IsLetter(v[1]));
                if (looksLikeOption && !File.Exists(v)) return v;
            }
        }
        return null;
    }
}

/// <summary>The streams and cancellation a command writes to.</summary>
public sealed record CliIO(TextWriter Out, TextWriter Err, CancellationToken Cancellation)
{
    /// <summary>Standard input (empty unless the caller provides one).</summary>
    public TextReader In { get; init; } = TextReader.Null;

    /// <summary>True when a person types at a terminal (standard input not redirected): prompts and banners are shown.</summary>
    public bool Interactive { get; init; }

    /// <summary>Where Ctrl+C goes: an interactive command can take it over from the default cancellation.</summary>
    public CliInterrupts Interrupts { get; init; } = new();
}

/// <summary>
/// Ctrl+C routing. By default Ctrl+C cancels the command (<see cref="CliIO.Cancellation"/>); a command that captures
/// it (chat: stop the reply, or leave at the prompt) gets it instead while the capture lasts.
/// </summary>
public sealed class CliInterrupts
{
    private Action? _handler;

    /// <summary>Sends Ctrl+C to <paramref name="handler"/> until the returned object is disposed.</summary>
    public IDisposable Capture(Action handler)
    {
        var previous = Interlocked.Exchange(ref _handler, handler);
        return new Release(() => Interlocked.Exchange(ref _handler, previous));
    }

    /// <summary>Delivers one Ctrl+C to the capturing command; false when none captures it.</summary>
    public bool TryHandle()
    {
        var handler = Volatile.Read(ref _handler);
        handler?.Invoke();
        return handler is not null;
    }

    private sealed class Release(Action release) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) release();
        }
    }
}

/// <summary>Turns exceptions into the one-line messages users see.</summary>
public static class CliErrors
{
    /// <summary>The message for an exception: its own message, flattened to one line.</summary>
    public static string Describe(Exception e)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } agg) e = agg.InnerExceptions[0];
        string message = e switch
        {
            FileNotFoundException f when f.FileName is not null && !f.Message.Contains(f.FileName) => $"file not found: {f.FileName}",
            UnauthorizedAccessException => $"access denied: {e.Message}",
            OutOfMemoryException => "out of memory",
            _ => e.Message,
        };
        return message.ReplaceLineEndings(" ").Trim();
    }
}
