using System.Globalization;
using System.Text.Json.Nodes;
using SharpInfer.Templates;

namespace SharpInfer.Tests.Templates;

/// <summary>
/// The 17 real chat templates in ../shared/templates, each rendered for three conversations with and without a
/// generation prompt, against the reference Jinja2 renderings (Hugging Face's settings) byte for byte; the cases the
/// reference saw fail must fail here with the same message.
/// </summary>
public class ReferenceTemplateTests
{
    public static TheoryData<string> TemplateNames()
    {
        var names = new TheoryData<string>();
        var folder = Path.Combine(SharedData.Root, "templates");
        foreach (var file in Directory.EnumerateFiles(folder, "*.jinja").Order(StringComparer.Ordinal))
        {
            names.Add(Path.GetFileNameWithoutExtension(file));
        }
        return names;
    }

    [Fact]
    public void AllSeventeenTemplatesArePresent() => Assert.Equal(17, TemplateNames().Count);

    [Theory]
    [MemberData(nameof(TemplateNames))]
    public void EveryCaseRendersByteForByteOrFailsAsTheReferenceDid(string name)
    {
        var template = ChatTemplate.Parse(File.ReadAllText(SharedData.File($"templates/{name}.jinja")));
        var reference = JsonNode.Parse(File.ReadAllText(SharedData.File($"templates/{name}.expected.json")))!.AsObject();
        var cases = reference["cases"]!.AsArray();
        Assert.Equal(6, cases.Count);
        foreach (var item in cases)
        {
            var input = new ChatTemplateInput
            {
                Messages = item!["messages"]!.DeepClone().AsArray(),
                AddGenerationPrompt = item["add_generation_prompt"]!.GetValue<bool>(),
                BosToken = reference["bos_token"]!.GetValue<string>(),
                EosToken = reference["eos_token"]!.GetValue<string>(),
                Now = DateTimeOffset.Parse(reference["date"]!.GetValue<string>(), CultureInfo.InvariantCulture),
            };
            string label = $"{name} / {item["conversation"]} / add_generation_prompt={input.AddGenerationPrompt}";
            if (item["error"] is { } error)
            {
                var e = Assert.Throws<TemplateException>(() => template.Render(input));
                Assert.True(e.Reason == error.GetValue<string>(), $"{label}: expected the error '{error}', got '{e.Message}'");
                continue;
            }
            string expected = item["expected"]!.GetValue<string>();
            string actual = template.Render(input);
            Assert.True(expected == actual, $"{label}: rendering differs at character {FirstDifference(expected, actual)}\nexpected: {Show(expected)}\nactual:   {Show(actual)}");
        }
    }

    private static int FirstDifference(string a, string b)
    {
        int i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i]) i++;
        return i;
    }

    private static string Show(string s) => System.Text.Json.JsonSerializer.Serialize(s);
}
