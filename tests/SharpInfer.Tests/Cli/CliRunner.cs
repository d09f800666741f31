using SharpInfer.Cli;

namespace SharpInfer.Tests.Cli;

/// <summary>Runs the command line in-process and captures its output.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Out, string Err);

    public static Result Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.RunAsync(args, stdout, stderr).GetAwaiter().GetResult();
        return new Result(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs with <paramref name="input"/> as standard input (piped, not interactive).</summary>
    public static Result RunWithInput(string input, params string[] args) => Run(new StringReader(input), new StringWriter(), new CliInterrupts(), false, args);

    /// <summary>Runs with the given standard input, output writer and Ctrl+C routing.</summary>
    public static Result Run(TextReader input, StringWriter stdout, CliInterrupts interrupts, bool interactive, params string[] args)
    {
        var stderr = new StringWriter();
        var io = new CliIO(stdout, stderr, CancellationToken.None) { In = input, Interrupts = interrupts, Interactive = interactive };
        int code = CliApp.RunAsync(args, io).GetAwaiter().GetResult();
        return new Result(code, stdout.ToString(), stderr.ToString());
    }
}
