using System.Text.Json;

namespace SharpInfer.Tests.Cli;

public class TokenizeCommandTests
{
    [Fact]
    public void JsonPrintsTheIds()
    {
        var r = CliRunner.Run("tokenize", "-m", SharedData.Stories, "--text", "Once upon a time", "--add-special", "--json");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(new[] { 1, 403, 407, 261, 378 }, JsonSerializer.Deserialize<int[]>(r.Out));
    }

    [Fact]
    public void TextModePrintsEachIdWithItsPiece()
    {
        var r = CliRunner.Run("tokenize", "-m", SharedData.Stories, "--text", "Once upon");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("403 -> \" Once\"", r.Out);
        Assert.Contains("407 -> \" upon\"", r.Out);
    }

    [Fact]
    public void ReadsAFileAndRefusesAmbiguousInput()
    {
        string temp = Path.GetTempFileName();
        try
        {
            File.WriteAllText(temp, "Once upon a time");
            var r = CliRunner.Run("tokenize", "-m", SharedData.Stories, "--file", temp, "--json");
            Assert.Equal(new[] { 403, 407, 261, 378 }, JsonSerializer.Deserialize<int[]>(r.Out));
            var both = CliRunner.Run("tokenize", "-m", SharedData.Stories, "--file", temp, "--text", "x");
            Assert.Equal(2, both.ExitCode);
            Assert.Contains("exactly one", both.Err);
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
