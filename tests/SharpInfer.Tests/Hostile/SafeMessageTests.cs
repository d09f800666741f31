using System.Text;
using SharpInfer.Files;
using SharpInfer.Gguf;
using SharpInfer.Tests.Cli;

namespace SharpInfer.Tests.Hostile;

/// <summary>Names from a file reach messages escaped and cut to 64 characters: a corrupt file cannot write to the terminal.</summary>
public sealed class SafeMessageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-safe-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void ControlAndInvisibleCharactersAreEscapedAndLongNamesCut()
    {
        Assert.Equal("'a\\x1B[31mb'", SafeText.Quote("a\u001b[31mb"));
        Assert.Equal("'x\\u{202E}y\\x07'", SafeText.Quote("x\u202Ey\u0007"));
        Assert.Equal("'tab\\x09and\\\\'", SafeText.Quote("tab\tand\\"));
        Assert.Equal("'日本語 ok'", SafeText.Quote("日本語 ok"));
        string cut = SafeText.Quote(new string('n', 1_000_000));
        Assert.Equal("'" + new string('n', 64) + "… (1000000 characters)'", cut);
        Assert.Equal("one line", SafeText.Line("one\nline"));
    }

    /// <summary>
    /// A tensor name of 1 MB made of escape sequences (what a corrupt length produces) with too many dimensions: the
    /// error is one short line without a single control character.
    /// </summary>
    [Fact]
    public void AHostileTensorNameInACorruptFileIsShownSafely()
    {
        string evil = string.Concat(Enumerable.Repeat("\u001b[2J\u001b]0;pwned\u0007", 60_000));
        var bytes = new List<byte>();
        bytes.AddRange(BitConverter.GetBytes(GgufFile.Magic));
        bytes.AddRange(BitConverter.GetBytes(3u));
        bytes.AddRange(BitConverter.GetBytes(1UL));
        bytes.AddRange(BitConverter.GetBytes(0UL));
        var name = Encoding.UTF8.GetBytes(evil);
        bytes.AddRange(BitConverter.GetBytes((ulong)name.Length));
        bytes.AddRange(name);
        bytes.AddRange(BitConverter.GetBytes(9u));
        string path = Path.Combine(_dir, "evil.gguf");
        File.WriteAllBytes(path, bytes.ToArray());

        foreach (var r in new[] { CliRunner.Run("inspect", path), CliRunner.Run("run", "-m", path, "-p", "x") })
        {
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("has 9 dimensions", r.Err);
            Assert.Single(r.Err.Trim().Split('\n'));
            Assert.True(r.Err.Length < 400, $"{r.Err.Length} characters");
            Assert.DoesNotContain(r.Err, c => char.IsControl(c) && c != '\n');
        }
    }

    [Fact]
    public void AHostileMetadataKeyIsShownSafely()
    {
        string path = Path.Combine(_dir, "key.gguf");
        var bytes = new List<byte>();
        bytes.AddRange(BitConverter.GetBytes(GgufFile.Magic));
        bytes.AddRange(BitConverter.GetBytes(3u));
        bytes.AddRange(BitConverter.GetBytes(0UL));
        bytes.AddRange(BitConverter.GetBytes(1UL));
        var key = Encoding.UTF8.GetBytes("general.\u001b[31mred\u001b[0m");
        bytes.AddRange(BitConverter.GetBytes((ulong)key.Length));
        bytes.AddRange(key);
        bytes.AddRange(BitConverter.GetBytes(99u));
        File.WriteAllBytes(path, bytes.ToArray());
        var r = CliRunner.Run("inspect", path);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("general.\\x1B[31mred\\x1B[0m", r.Err);
        Assert.DoesNotContain('\u001b', r.Err);
    }
}
