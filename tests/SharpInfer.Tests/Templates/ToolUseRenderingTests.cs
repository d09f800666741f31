using System.Globalization;
using System.Text.Json.Nodes;
using SharpInfer.Templates;

namespace SharpInfer.Tests.Templates;

/// <summary>
/// The 17 shared real templates with tools and tool calls (dict and JSON-string arguments, parallel calls, tool
/// results), which the shared references do not exercise. Data/tool-use-renderings.json holds Jinja2 3.1's renderings
/// with Hugging Face's settings, made for this project. Where Jinja2 fails only because <c>map</c> gave a generator to
/// <c>tojson</c> (this engine gives lists, see docs/templates.md), the case holds the rendering Jinja2 gives with list
/// results instead.
/// </summary>
public class ToolUseRenderingTests
{
    private static readonly Lazy<JsonObject> Data = new(() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(SharedData.RepoRoot, "tests/SharpInfer.Tests/Templates/Data/tool-use-renderings.json")))!.AsObject());

    public static TheoryData<string> TemplateNames() => ReferenceTemplateTests.TemplateNames();

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void ToolConversationsRenderAsJinja2Does(string name)
    {
        var template = ChatTemplate.Parse(File.ReadAllText(SharedData.File($"templates/{name}.jinja")));
        var cases = Data.Value["cases"]!.AsArray().Where(c => c!["template"]!.GetValue<string>() == name).ToList();
        Assert.Equal(6, cases.Count);
        foreach (var item in cases)
        {
            string conversation = item!["conversation"]!.GetValue<string>();
            var input = new ChatTemplateInput
            {
                Messages = Data.Value["conversations"]![conversation]!.DeepClone().AsArray(),
                Tools = Data.Value["tools"]!.DeepClone().AsArray(),
                AddGenerationPrompt = item["add_generation_prompt"]!.GetValue<bool>(),
                BosToken = "<s>",
                EosToken = "</s>",
                Now = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
            };
            string label = $"{name} / {conversation} / add_generation_prompt={input.AddGenerationPrompt}";
            string? expected = (item["expected"] ?? item["expected_with_lists"])?.GetValue<string>();
            if (expected is null)
            {
                var e = Assert.Throws<TemplateException>(() => template.Render(input));
                Assert.True(e.Reason == item["error"]!.GetValue<string>(), $"{label}: expected the error '{item["error"]}', got '{e.Message}'");
                continue;
            }
            string actual = template.Render(input);
            Assert.True(expected == actual, $"{label}: rendering differs\nexpected: {System.Text.Json.JsonSerializer.Serialize(expected)}\nactual:   {System.Text.Json.JsonSerializer.Serialize(actual)}");
        }
    }
}
