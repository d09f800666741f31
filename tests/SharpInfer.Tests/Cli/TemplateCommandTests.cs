using System.Text.Json.Nodes;

namespace SharpInfer.Tests.Cli;

/// <summary><c>sharpinfer template</c>: prints exactly the rendering, or exits 1 with the template's own message.</summary>
public class TemplateCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-template-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static JsonObject Reference(string name) =>
        JsonNode.Parse(File.ReadAllText(SharedData.File($"templates/{name}.expected.json")))!.AsObject();

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void PrintsExactlyTheReferenceRendering(int caseIndex)
    {
        // Llama 3.2 formats today's date with strftime_now: --date fixes it as the reference did.
        const string name = "meta-llama-Llama-3.2-3B-Instruct";
        var reference = Reference(name);
        var item = reference["cases"]![caseIndex]!;
        string messages = Write("messages.json", item["messages"]!.ToJsonString());
        var args = new List<string> { "template", SharedData.File($"templates/{name}.jinja"), "--messages", messages,
            "--bos-token", "<s>", "--eos-token", "</s>", "--date", reference["date"]!.GetValue<string>() };
        if (item["add_generation_prompt"]!.GetValue<bool>()) args.Add("--add-generation-prompt");
        var r = CliRunner.Run([.. args]);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(item["expected"]!.GetValue<string>(), r.Out);
        Assert.Contains("Today Date: 02 Jan 2026", r.Out);
        Assert.Equal("", r.Err);
    }

    [Fact]
    public void AcceptsAnObjectWithMessagesAndTools()
    {
        var data = JsonNode.Parse(File.ReadAllText(Path.Combine(SharedData.RepoRoot, "tests/SharpInfer.Tests/Templates/Data/tool-use-renderings.json")))!;
        var item = data["cases"]!.AsArray().Single(c => c!["template"]!.GetValue<string>() == "Qwen-Qwen2.5-7B-Instruct"
            && c["conversation"]!.GetValue<string>() == "tool-call" && c["add_generation_prompt"]!.GetValue<bool>());
        var request = new JsonObject { ["messages"] = data["conversations"]!["tool-call"]!.DeepClone(), ["tools"] = data["tools"]!.DeepClone() };
        string messages = Write("request.json", request.ToJsonString());
        var r = CliRunner.Run("template", SharedData.File("templates/Qwen-Qwen2.5-7B-Instruct.jinja"), "--messages", messages, "--add-generation-prompt");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(item["expected"]!.GetValue<string>(), r.Out);
    }

    [Fact]
    public void OtherKeysOfTheObjectBecomeTemplateVariables()
    {
        string template = Write("t.jinja", "{{ messages|length }}/{{ enable_thinking }}/{{ tools is defined }}");
        string messages = Write("m.json", """{"messages": [{"role": "user", "content": "x"}], "enable_thinking": false}""");
        var r = CliRunner.Run("template", template, "--messages", messages);
        Assert.Equal("1/False/False", r.Out);
    }

    [Fact]
    public void TheTemplatesOwnErrorIsOneLineAndExitCodeOne()
    {
        var item = Reference("google-gemma-2-2b-it")["cases"]![2]!;
        string messages = Write("messages.json", item["messages"]!.ToJsonString());
        var r = CliRunner.Run("template", SharedData.File("templates/google-gemma-2-2b-it.jinja"), "--messages", messages);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.Out);
        Assert.Equal("error: System role not supported" + Environment.NewLine, r.Err);
    }

    [Theory]
    [InlineData("hello\n{% foo %}", "error: unknown tag 'foo' (line 2)")]
    [InlineData("{{ messages[0].missing.x }}", "error: 'dict object' has no attribute 'missing' (line 1)")]
    public void SyntaxAndRuntimeErrorsNameTheLine(string source, string expected)
    {
        string template = Write("bad.jinja", source);
        string messages = Write("m.json", """[{"role": "user", "content": "x"}]""");
        var r = CliRunner.Run("template", template, "--messages", messages);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal(expected + Environment.NewLine, r.Err);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("{\"messages\": 3}", "expected a JSON array of messages or an object with a \"messages\" array")]
    [InlineData("{\"messages\": [], \"tools\": {}}", "\"tools\" must be an array")]
    public void BadMessagesFilesAreRefused(string content, string message)
    {
        string template = Write("t.jinja", "x");
        string messages = Write("m.json", content);
        var r = CliRunner.Run("template", template, "--messages", messages);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith($"error: {messages}: ", r.Err);
        Assert.Contains(message, r.Err);
        Assert.Single(r.Err.TrimEnd().Split('\n'));
    }

    [Fact]
    public void BadDatesAndMissingOptionsAreRefused()
    {
        string template = Write("t.jinja", "{{ strftime_now('%Y') }}");
        string messages = Write("m.json", "[]");
        var date = CliRunner.Run("template", template, "--messages", messages, "--date", "yesterday");
        Assert.Equal(2, date.ExitCode);
        Assert.Equal("error: --date: cannot read 'yesterday' as a date and time (use ISO 8601, e.g. 2026-01-02T03:04:05)" + Environment.NewLine, date.Err);
        var missing = CliRunner.Run("template", template);
        Assert.Equal(2, missing.ExitCode);
        var absent = CliRunner.Run("template", Path.Combine(_dir, "absent.jinja"), "--messages", messages);
        Assert.Equal(1, absent.ExitCode);
        Assert.Contains("absent.jinja", absent.Err);
    }
}
