using System.Text.Json;

namespace SharpInfer.Tests.Cli;

public class InspectCommandTests
{
    public static TheoryData<string> AllFiles()
    {
        var data = new TheoryData<string>();
        foreach (var p in SharedData.AllGgufFiles()) data.Add(Path.GetRelativePath(SharedData.Root, p));
        return data;
    }

    [Theory]
    [MemberData(nameof(AllFiles))]
    public void InspectsEverySharedFileOrRefusesItInOneLine(string relative)
    {
        var r = CliRunner.Run("inspect", SharedData.File(relative));
        if (relative.Contains("gguf-v1"))
        {
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("version 1 is not supported", r.Err);
            Assert.Single(r.Err.Trim().Split('\n'));
            return;
        }
        if (relative.Contains("rows-not-block-aligned"))
        {
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("not a multiple of the block size", r.Err);
            Assert.Single(r.Err.Trim().Split('\n'));
            return;
        }
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("general.architecture", r.Out);
        Assert.Contains("bits per weight", r.Out);
    }

    [Fact]
    public void JsonHasTheDocumentedShape()
    {
        var r = CliRunner.Run("inspect", SharedData.Stories, "--json");
        Assert.Equal(0, r.ExitCode);
        using var doc = JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Equal(3, root.GetProperty("version").GetInt32());
        Assert.Equal(32, root.GetProperty("alignment").GetInt32());
        Assert.Equal("llama", root.GetProperty("metadata").GetProperty("general.architecture").GetString());
        Assert.Equal(5, root.GetProperty("metadata").GetProperty("llama.block_count").GetInt32());
        var tokens = root.GetProperty("metadata").GetProperty("tokenizer.ggml.tokens");
        Assert.Equal(512, tokens.GetProperty("count").GetInt32());
        var tensors = root.GetProperty("tensors");
        Assert.Equal(48, tensors.GetArrayLength());
        var first = tensors[0];
        Assert.Equal("token_embd.weight", first.GetProperty("name").GetString());
        Assert.Equal("F32", first.GetProperty("type").GetString());
        Assert.Equal(new[] { 64L, 512L }, first.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(0, first.GetProperty("offset").GetInt64());
        Assert.Equal(131072, first.GetProperty("bytes").GetInt64());
    }

    [Fact]
    public void FullArraysPrintsEveryItem()
    {
        var r = CliRunner.Run("inspect", SharedData.Stories, "--json", "--full-arrays");
        using var doc = JsonDocument.Parse(r.Out);
        Assert.Equal(512, doc.RootElement.GetProperty("metadata").GetProperty("tokenizer.ggml.tokens").GetArrayLength());
    }

    [Fact]
    public void BadUsageGivesOneLineAndExitCodeTwo()
    {
        var unknown = CliRunner.Run("inspect", "--bogus");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("--bogus", unknown.Err);
        var missing = CliRunner.Run("inspect");
        Assert.Equal(2, missing.ExitCode);
        var noCommand = CliRunner.Run("frobnicate");
        Assert.Equal(2, noCommand.ExitCode);
    }

    [Fact]
    public void MissingAndCorruptFilesGiveOneLineAndExitCodeOne()
    {
        var missing = CliRunner.Run("inspect", "/nonexistent/model.gguf");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("/nonexistent/model.gguf", missing.Err);
        string temp = Path.GetTempFileName();
        try
        {
            File.WriteAllText(temp, "this is not a model");
            var corrupt = CliRunner.Run("inspect", temp);
            Assert.Equal(1, corrupt.ExitCode);
            Assert.Contains("bad magic", corrupt.Err);
            Assert.Single(corrupt.Err.Trim().Split('\n'));
        }
        finally
        {
            File.Delete(temp);
        }
    }
}
