using SharpInfer.Tests.Cli;

namespace SharpInfer.Tests.Hostile;

/// <summary>Messages say what is wrong, in the user's words; usage errors exit 2, bad input 1.</summary>
public sealed class CliMessageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-messages-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static void OneLine(CliRunner.Result r, int code, string expected)
    {
        Assert.True(r.ExitCode == code, $"exit code {r.ExitCode}, expected {code}: {r.Err}");
        Assert.Contains(expected, r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
        Assert.StartsWith("error: ", r.Err);
        Assert.DoesNotContain("System.", r.Err);
    }

    [Fact]
    public void ADirectoryGivenAsTheModelIsCalledADirectory()
    {
        OneLine(CliRunner.Run("run", "-m", _dir, "-p", "hi"), 1, "is a directory");
        OneLine(CliRunner.Run("inspect", _dir), 1, "is a directory");
        OneLine(CliRunner.Run("kv-size", "-m", _dir), 1, "is a directory");
    }

    [Fact]
    public void AnUnknownCommandIsNamedAndTheCommandsListed()
    {
        var r = CliRunner.Run("frobnicate", "-m", "x");
        OneLine(r, 2, "unknown command 'frobnicate'");
        foreach (string command in new[] { "run", "chat", "logits", "kv-size", "bench", "selftest" }) Assert.Contains($" {command},", r.Err.Replace("selftest (", "selftest, ("));
        OneLine(CliRunner.Run(), 2, "no command given; commands: inspect");
    }

    [Fact]
    public void AMissingOutputFolderIsNamed()
    {
        string missing = Path.Combine(_dir, "no", "such");
        OneLine(CliRunner.Run("quantize", SharedData.Stories, Path.Combine(missing, "out.gguf"), "F16"), 1, $"the output folder {missing} does not exist");
        OneLine(CliRunner.Run("synth", "--shape", "smollm-135m", "--type", "Q8_0", "-o", Path.Combine(missing, "out.gguf"),
            "--vocab-from", SharedData.File("vocab/ggml-vocab-llama-spm.gguf")), 1, "does not exist");
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Theory]
    [InlineData("-t", "abc", "option '--threads' expects an integer (got 'abc')")]
    [InlineData("-n", "1.5", "expects an integer (got '1.5')")]
    [InlineData("--temp", "warm", "option '--temp' expects a number (got 'warm')")]
    [InlineData("--kv-unified", "maybe", "'maybe'")]
    [InlineData("-c", "99999999999", "expects an integer")]
    public void MalformedValuesAreDescribedWithoutTypeNames(string option, string value, string expected) =>
        OneLine(CliRunner.Run("run", "-m", SharedData.Stories, "-p", "hi", option, value), 2, expected);

    public static TheoryData<string[], string> UsageErrors => new()
    {
        { ["run", "-m", "MODEL", "-p", "hi", "-f", "FILE"], "exactly one of -p/--prompt or -f/--file" },
        { ["run", "-m", "MODEL"], "exactly one of -p/--prompt or -f/--file" },
        { ["run", "-m", "MODEL", "-p", "hi", "-t", "-1"], "--threads must be 1..512" },
        { ["run", "-m", "MODEL", "-p", "hi", "-t", "513"], "--threads must be 1..512" },
        { ["run", "-m", "MODEL", "-p", "hi", "-c", "-5"], "--ctx-size must be" },
        { ["run", "-m", "MODEL", "-p", "hi", "-ub", "0"], "--ubatch-size must be positive" },
        { ["run", "-m", "MODEL", "-p", "hi", "--parallel", "0"], "--parallel must be 1..256" },
        { ["run", "-m", "MODEL", "-p", "hi", "-n", "-2"], "-n must be -1 or more" },
        { ["run", "-m", "MODEL", "-p", "hi", "--top-p", "1.5"], "top-p must be within 0..1" },
        { ["run", "-m", "MODEL", "-p", "hi", "--cache-type-k", "q9"], "unknown cache type 'q9'" },
        { ["logits", "-m", "MODEL", "-p", "hi", "--top", "0"], "--top must be at least 1" },
        { ["kv-quality", "-m", "MODEL", "-p", "hi", "-f", "FILE"], "at most one of -p and -f" },
        { ["kv-size", "-m", "MODEL", "--parallel", "0"], "--parallel must be at least 1" },
        { ["tokenize", "-m", "MODEL"], "exactly one of --text or --file" },
        { ["bench", "-m", "MODEL", "-r", "0"], "-r must be at least 1" },
        { ["bench", "-m", "MODEL", "-p", "2000000000", "--depth", "2000000000"], "ask for a context of 4000000008 cells" },
        { ["quantize", "MODEL", "OUT", "Q9_9"], "unknown type or mix 'Q9_9'" },
        { ["synth", "--shape", "gpt-5", "--type", "Q4_0", "-o", "OUT"], "unknown shape" },
        { ["run", "-m", "MODEL", "-p", "hi", "--no-such-flag"], "--no-such-flag" },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public void UsageErrorsExitTwo(string[] args, string expected)
    {
        string file = Path.Combine(_dir, "prompt.txt");
        File.WriteAllText(file, "hi");
        var resolved = args.Select(a => a switch { "MODEL" => SharedData.Stories, "FILE" => file, "OUT" => Path.Combine(_dir, "out.gguf"), _ => a }).ToArray();
        OneLine(CliRunner.Run(resolved), 2, expected);
        Assert.False(File.Exists(Path.Combine(_dir, "out.gguf")));
    }

    public static TheoryData<string, string> FloatOptions()
    {
        var data = new TheoryData<string, string>();
        foreach (string option in new[] { "--temp", "--top-p", "--min-p", "--typical", "--repeat-penalty", "--frequency-penalty", "--presence-penalty" })
        {
            foreach (string value in new[] { "NaN", "Infinity", "-Infinity" }) data.Add(option, value);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(FloatOptions))]
    public void NumericOptionsRefuseNaNAndInfinity(string option, string value) =>
        OneLine(CliRunner.Run("run", "-m", SharedData.Stories, "-p", "hi", "-n", "2", option, value), 2, $"{option} must be a finite number (got '{value}')");

    [Fact]
    public void MoreThreadsThanCpusIsWarnedAboutAndStillRuns()
    {
        int threads = SharpInfer.Threading.CpuTopology.UsableCpus + 1;
        var r = CliRunner.Run("run", "-m", SharedData.Stories, "-p", "Once upon a time", "-n", "4", "-t", threads.ToString());
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains($"warning: -t {threads} is more threads than the {threads - 1} CPUs this process may use", r.Err);
    }
}
