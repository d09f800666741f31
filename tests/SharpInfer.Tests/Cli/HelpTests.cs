using SharpInfer.Cli;

namespace SharpInfer.Tests.Cli;

/// <summary><c>sharpinfer --help</c> and <c>sharpinfer COMMAND --help</c>: every option is listed with its default.</summary>
public class HelpTests
{
    private static List<string> CommandNames()
    {
        var root = CliRunner.Run("--help").Out;
        return root[root.IndexOf("Commands:", StringComparison.Ordinal)..].Split('\n').Skip(1)
            .Select(line => line.Trim().Split(' ', 2)[0])
            .Where(name => name.Length > 0)
            .ToList();
    }

    public static TheoryData<string> Commands() => new(CommandNames());

    [Fact]
    public void EveryCommandIsListed()
    {
        var names = CommandNames();
        Assert.Equal(["inspect", "quantize", "tokenize", "template", "run", "chat", "logits", "kv-size", "kv-quality", "synth", "bench", "serve", "serve-bench", "pull", "list", "selftest"], names);
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public void EveryOptionStatesItsDefault(string command)
    {
        var r = CliRunner.Run(command, "--help");
        Assert.Equal(0, r.ExitCode);
        var options = r.Out[r.Out.IndexOf("Options:", StringComparison.Ordinal)..].Split('\n').Skip(1)
            .TakeWhile(l => l.Trim().Length > 0)
            .Where(l => !l.Contains("--help", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(options);
        Assert.All(options, line => Assert.True(line.Contains("default", StringComparison.OrdinalIgnoreCase) || line.Contains("(REQUIRED)", StringComparison.Ordinal), $"{command}: {line.Trim()}"));
        Assert.Contains(options, l => l.Contains("--quiet", StringComparison.Ordinal));
    }

    [Fact]
    public void CacheTypeDefaultsAreTheCommandsOwn()
    {
        Assert.Contains("(default: f32)", CliRunner.Run("logits", "--help").Out);
        Assert.Contains("(default: f16)", CliRunner.Run("run", "--help").Out);
    }
}
