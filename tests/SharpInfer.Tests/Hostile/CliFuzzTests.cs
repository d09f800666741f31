using System.CommandLine;
using System.Text.RegularExpressions;
using SharpInfer.Cli;
using SharpInfer.Cli.Commands;

namespace SharpInfer.Tests.Hostile;

/// <summary>
/// Random argument vectors against the real command tree: whatever the options and values, the command line ends with
/// exit code 0, 1, 2 or 130 (a run still going after a second is cancelled) and never prints a stack trace, an
/// exception type or a control character. Outputs only ever go to this test's folder.
/// </summary>
public sealed partial class CliFuzzTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static readonly string[] Integers = ["0", "1", "2", "7", "-1", "-2", "513", "99999999999", "1.5", "1e9", "abc", "", "0x10"];
    private static readonly string[] Floats = ["0", "0.5", "1", "2", "-1", "NaN", "Infinity", "-Infinity", "1e39", "abc", "", "-0"];
    private static readonly string[] Bools = ["true", "false", "maybe", "1"];
    private static readonly string[] Junk = ["--no-such", "-", "--", "-x", "\u001b[2J", "", "frobnicate", "--help", "-h", "-m"];

    private string[] Strings() =>
    [
        "f16", "q8_0", "q9", "Q4_K", "Q4_K_M", "md", "json", "xml", "smollm-135m", "gpt-5", "hello", "\u001b]0;title\u0007", "",
        SharedData.Stories, _dir, Path.Combine(_dir, "missing.gguf"), SharedData.File("vocab/ggml-vocab-llama-spm.gguf"),
    ];

    /// <summary>Where a command may write: always a fresh path in this test's folder.</summary>
    private string OutputPath(Random r) => Path.Combine(_dir, $"out-{r.Next(4)}.gguf");

    private string[] Vector(Random r, Command command)
    {
        var args = new List<string> { command.Name };
        // Positionals first and typed, so that a random token can never become an output path elsewhere.
        foreach (var argument in command.Arguments)
        {
            args.Add(argument.Name switch
            {
                "OUT" => OutputPath(r),
                "TYPE" => Pick(r, ["Q8_0", "F16", "Q4_K_M", "Q9_9", "q4_0"]),
                _ => Pick(r, [SharedData.Stories, SharedData.Synth("F32"), _dir, Path.Combine(_dir, "missing.gguf")]),
            });
        }
        var options = command.Options.Where(o => o.Name is not ("--help" or "--version")).ToList();
        int count = r.Next(6);
        for (int i = 0; i < count; i++)
        {
            if (r.Next(10) == 0)
            {
                args.Add(Pick(r, Junk));
                continue;
            }
            var option = options[r.Next(options.Count)];
            args.Add(r.Next(4) == 0 && option.Aliases.Count > 0 ? option.Aliases.First() : option.Name);
            if (r.Next(12) == 0) continue; // a missing value
            args.Add(option.Name is "--output" or "--prompt-cache" ? OutputPath(r)
                : option.ValueType == typeof(int) || option.ValueType == typeof(long) ? Pick(r, Integers)
                : option.ValueType == typeof(float) || option.ValueType == typeof(double) ? Pick(r, Floats)
                : option.ValueType == typeof(bool) ? Pick(r, Bools)
                : Pick(r, Strings()));
        }
        return args.ToArray();
    }

    private static string Pick(Random r, string[] values) => values[r.Next(values.Length)];

    [Fact]
    public async Task RandomArgumentVectorsNeverCrash()
    {
        var io = new CliIO(TextWriter.Null, TextWriter.Null, CancellationToken.None);
        // selftest takes seconds and has no options worth fuzzing.
        var commands = CommandSet.Create(io).Where(c => c.Name != "selftest").ToList();
        var r = new Random(20240611);
        var codes = new Dictionary<int, int>();
        for (int i = 0; i < 300; i++)
        {
            string[] args = r.Next(20) == 0 ? [Pick(r, Junk), Pick(r, Junk)] : Vector(r, commands[r.Next(commands.Count)]);
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            int code = await CliApp.RunAsync(args, stdout, stderr, timeout.Token);
            string err = stderr.ToString(), shown = string.Join(" ", args.Select(a => $"[{a}]"));
            Assert.True(code is 0 or 1 or 2 or 130, $"exit code {code} for {shown}: {err}");
            Assert.False(StackFrame().IsMatch(err), $"stack trace for {shown}: {err}");
            Assert.DoesNotContain("Exception", err);
            Assert.False(err.Any(c => char.IsControl(c) && c is not ('\n' or '\r')), $"control character for {shown}: {err.Replace("\u001b", "<ESC>")}");
            if (code is 1 or 2) Assert.Contains("error: ", err);
            codes[code] = codes.GetValueOrDefault(code) + 1;
        }
        // The vectors reach the commands' actions, not only the parser: some run, some fail on their input.
        Assert.True(codes.GetValueOrDefault(0) >= 10 && codes.GetValueOrDefault(1) >= 10 && codes.GetValueOrDefault(2) >= 10,
            string.Join(", ", codes.Select(c => $"exit {c.Key}: {c.Value}")));
        Assert.All(Directory.GetFiles(_dir), f => Assert.DoesNotContain(".tmp-", f));
    }

    [GeneratedRegex(@"^\s+at \S+\(", RegexOptions.Multiline)]
    private static partial Regex StackFrame();
}
