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

    [Fact]
    public void ParseSpecialDecidesWhetherPhi3ChatTokensAreTokens()
    {
        string phi3 = SharedData.File("vocab/ggml-vocab-phi-3.gguf");
        var parsed = CliRunner.Run("tokenize", "-m", phi3, "--text", "<|user|>\n Hi <|end|>", "--parse-special", "--json");
        Assert.Equal(0, parsed.ExitCode);
        Assert.Equal(new[] { 32010, 6324, 29871, 32007 }, JsonSerializer.Deserialize<int[]>(parsed.Out));
        var plain = CliRunner.Run("tokenize", "-m", phi3, "--text", "<|user|>", "--json");
        Assert.DoesNotContain(32010, JsonSerializer.Deserialize<int[]>(plain.Out)!);
    }

    [Fact]
    public void PreTokenizerNamesAreWarnedAboutOrRefused()
    {
        string temp = Path.GetTempFileName();
        try
        {
            WriteGpt2VocabWithPre(temp, "some-future-name");
            var unknown = CliRunner.Run("tokenize", "-m", temp, "--text", "Hello world", "--json");
            Assert.Equal(0, unknown.ExitCode);
            Assert.Contains("warning: unknown pre-tokenizer 'some-future-name'", unknown.Err);

            WriteGpt2VocabWithPre(temp, "gemma4");
            var unsupported = CliRunner.Run("tokenize", "-m", temp, "--text", "Hello world");
            Assert.Equal(1, unsupported.ExitCode);
            Assert.Equal("error: unsupported pre-tokenizer 'gemma4' (it needs SentencePiece-style BPE over raw UTF-8)", unsupported.Err.Trim());
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private static void WriteGpt2VocabWithPre(string path, string pre)
    {
        using var source = SharpInfer.Gguf.GgufFile.Open(SharedData.File("vocab/ggml-vocab-gpt-2.gguf"));
        var writer = SharpInfer.Gguf.GgufWriter.FromFile(source);
        writer.Metadata.Set("tokenizer.ggml.pre", SharpInfer.Gguf.GgufValue.FromString(pre));
        writer.Save(path);
    }
}
