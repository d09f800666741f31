using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;
using SharpInfer.Cli.Commands;
using SharpInfer.Files;

namespace SharpInfer.Cli;

/// <summary>
/// The <c>sharpinfer</c> command line. Every failure becomes one line on stderr naming what was wrong and a
/// non-zero exit code; nothing escapes as an unhandled exception.
/// </summary>
public static class CliApp
{
    /// <summary>Exit code for bad usage (unknown command or option, missing or malformed argument, out-of-range option value).</summary>
    public const int UsageError = 2;

    /// <summary>Exit code for a failure while running a command (bad file, bad model, I/O).</summary>
    public const int Failure = 1;

    /// <summary>Exit code of a run cancelled by Ctrl+C (SIGINT); SIGTERM gives 143 (see Program).</summary>
    public const int Cancelled = 130;

    /// <summary>Runs the command line with the given streams (used by Program and by tests in-process).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellation = default) =>
        RunAsync(args, new CliIO(stdout, stderr, cancellation));

    /// <summary>Runs the command line with the given streams, standard input and Ctrl+C routing.</summary>
    public static async Task<int> RunAsync(string[] args, CliIO io)
    {
        var (stdout, stderr, cancellation) = (io.Out, io.Err, io.Cancellation);
        var root = new RootCommand("SharpInfer: run GGUF language models in pure C#.");
        var quiet = new Option<bool>("--quiet", "-q") { Description = "no progress display on stderr (default: shown while stderr is a terminal)", Recursive = true };
        root.Options.Add(quiet);
        foreach (var command in CommandSet.Create(io)) root.Subcommands.Add(command);
        foreach (var command in root.Subcommands)
        {
            RequireFiniteNumbers(command);
            StateDefaults(command);
        }

        ParseResult parse;
        try
        {
            parse = root.Parse(args);
        }
        catch (Exception e)
        {
            return await FailAsync(stderr, CliErrors.DescribeParseError(CliErrors.Describe(e)), UsageError);
        }
        if (UsageProblem(root, parse, args) is { } problem) return await FailAsync(stderr, problem, UsageError);
        io.Quiet |= parse.GetValue(quiet);
        try
        {
            // ProcessTerminationTimeout null: Program.cs owns SIGINT and SIGTERM (the library would otherwise end an async
            // command two seconds after the signal, cutting serve's shutdown grace short and swallowing a second signal).
            var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            return await parse.InvokeAsync(config, cancellation);
        }
        catch (OperationCanceledException)
        {
            await stderr.WriteLineAsync("cancelled");
            return Cancelled;
        }
        catch (Exception e)
        {
            return await FailAsync(stderr, CliErrors.Describe(e), e is UsageException ? UsageError : Failure);
        }
    }

    private static async Task<int> FailAsync(TextWriter stderr, string message, int code)
    {
        await stderr.WriteLineAsync($"error: {message}");
        return code;
    }

    /// <summary>What is wrong with how the command line was written, or null when it can run.</summary>
    private static string? UsageProblem(RootCommand root, ParseResult parse, string[] args)
    {
        string commands = string.Join(", ", root.Subcommands.Select(c => c.Name));
        if (parse.CommandResult.Command == root && parse.Errors.Count > 0)
        {
            if (args.Length == 0) return $"no command given; commands: {commands} (see 'sharpinfer --help')";
            string first = args[0];
            string what = first.StartsWith('-') ? "option" : "command";
            return $"unknown {what} {SafeText.Quote(first)}; commands: {commands} (see 'sharpinfer --help')";
        }
        string where = parse.CommandResult.Command == root ? "sharpinfer" : $"sharpinfer {parse.CommandResult.Command.Name}";
        if (parse.Errors.Count > 0) return $"{CliErrors.DescribeParseError(parse.Errors[0].Message)} (see '{where} --help')";
        if (FindStrayOption(parse) is { } stray) return $"unknown option {SafeText.Quote(stray)} (see '{where} --help')";
        return null;
    }

    /// <summary>
    /// Every floating-point option of <paramref name="command"/> (and its subcommands) refuses NaN and ±∞ at parse
    /// time: a penalty or temperature of NaN would silently poison every logit it touches.
    /// </summary>
    private static void RequireFiniteNumbers(Command command)
    {
        foreach (var option in command.Options)
        {
            if (option.ValueType == typeof(float) || option.ValueType == typeof(double))
            {
                option.Validators.Add(result =>
                {
                    double value;
                    try
                    {
                        value = option.ValueType == typeof(float) ? result.GetValueOrDefault<float>() : result.GetValueOrDefault<double>();
                    }
                    catch (InvalidOperationException)
                    {
                        return; // not a number at all: the parser reports that itself
                    }
                    if (!double.IsFinite(value)) result.AddError($"{option.Name} must be a finite number (got {SafeText.Quote(result.Tokens.LastOrDefault()?.Value)})");
                });
            }
        }
        foreach (var sub in command.Subcommands) RequireFiniteNumbers(sub);
    }

    /// <summary>
    /// Every option's help line says its default: options with a default value show it ("[default: 512]") and those
    /// whose description names one keep it; the rest are flags that are off unless given, values that are absent
    /// unless given, or numbers that are 0 unless given, and say so. Required options have none.
    /// </summary>
    private static void StateDefaults(Command command)
    {
        foreach (var option in command.Options)
        {
            if (option.Required || option is System.CommandLine.Help.HelpOption or VersionOption) continue;
            string description = option.Description ?? "";
            if (description.Contains("default", StringComparison.OrdinalIgnoreCase)) continue;
            var type = option.ValueType;
            // Help shows a default value, except a flag's false.
            if (option.HasDefaultValue && !(type == typeof(bool) && Equals(option.GetDefaultValue(), false))) continue;
            string value = type == typeof(bool) ? "off" : type.IsValueType && Nullable.GetUnderlyingType(type) is null ? "0" : "none";
            option.Description = $"{description} (default: {value})";
        }
        foreach (var sub in command.Subcommands) StateDefaults(sub);
    }

    /// <summary>
    /// System.CommandLine binds an unknown "--flag" to a free positional argument; a positional value that looks
    /// like an option and is not an existing file is reported as the unknown option it almost surely is.
    /// </summary>
    private static string? FindStrayOption(ParseResult parse)
    {
        foreach (var argument in parse.CommandResult.Children.OfType<ArgumentResult>())
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

    /// <summary>True when stderr is a terminal: long work draws a progress line there (unless <see cref="Quiet"/>).</summary>
    public bool ErrIsTerminal { get; init; }

    /// <summary>Set by <c>--quiet</c>: no progress display.</summary>
    public bool Quiet { get; set; }

    /// <summary>
    /// Set by a command for which SIGTERM and Ctrl+C are the normal way to end (serve): its own exit code stands,
    /// instead of the signal's 143 or 130.
    /// </summary>
    public bool SignalsEndNormally { get; set; }

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

/// <summary>A command line that cannot run as written (a bad option value, options that exclude each other): exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Turns exceptions into the one-line messages users see.</summary>
public static partial class CliErrors
{
    /// <summary>The message for an exception: its own message, flattened to one line with every control character escaped.</summary>
    public static string Describe(Exception e)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } agg) e = agg.InnerExceptions[0];
        string message = e switch
        {
            FileNotFoundException f when f.FileName is not null && !f.Message.Contains(f.FileName) => $"file not found: {f.FileName}",
            DirectoryNotFoundException => $"folder not found: {e.Message}",
            UnauthorizedAccessException => $"access denied: {e.Message}",
            OutOfMemoryException => "out of memory",
            _ => e.Message,
        };
        return SafeText.Line(message);
    }

    /// <summary>
    /// A parser message in the user's words: System.CommandLine names .NET types ("as expected type
    /// 'System.Int32'"), which mean nothing to someone typing a command.
    /// </summary>
    public static string DescribeParseError(string message)
    {
        var m = CannotParse().Match(message);
        if (m.Success)
        {
            return $"{m.Groups["kind"].Value} {SafeText.Quote(m.Groups["name"].Value)} expects {Friendly(m.Groups["type"].Value)} (got {SafeText.Quote(m.Groups["value"].Value)})";
        }
        return SafeText.Line(ExpectedType().Replace(message, t => Friendly(t.Groups["type"].Value)));
    }

    private static string Friendly(string typeName) => typeName switch
    {
        "System.Int32" or "System.Int64" or "System.Int16" => "an integer",
        "System.UInt32" or "System.UInt64" => "a non-negative integer",
        "System.Single" or "System.Double" => "a number",
        "System.Boolean" => "true or false",
        _ => "a value",
    };

    [GeneratedRegex(@"^Cannot parse argument '(?<value>.*)' for (?<kind>option|command|argument) '(?<name>[^']*)' as expected type '(?<type>[^']*)'\.?$", RegexOptions.Singleline)]
    private static partial Regex CannotParse();

    [GeneratedRegex(@"'(?<type>System\.[A-Za-z0-9]+)'")]
    private static partial Regex ExpectedType();
}
