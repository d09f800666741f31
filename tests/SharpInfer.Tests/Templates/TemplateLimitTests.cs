using System.Text.Json.Nodes;
using SharpInfer.Templates;

namespace SharpInfer.Tests.Templates;

/// <summary>
/// Hostile templates end in a TemplateException, never a stack overflow, a hang or an exhausted memory: nesting,
/// recursion, steps, output and list sizes are all bounded.
/// </summary>
public class TemplateLimitTests
{
    private static readonly TemplateLimits Small = new() { MaxSteps = 20_000, MaxOutputChars = 10_000, MaxCallDepth = 20, MaxItems = 1_000 };

    [Theory]
    [InlineData(100_000, "(", ")", "1")]
    [InlineData(100_000, "[", "]", "")]
    [InlineData(100_000, "-", "", "1")]
    [InlineData(100_000, "not ", "", "1")]
    public void DeeplyNestedExpressionsAreRefusedAtParseTime(int depth, string open, string close, string core)
    {
        string template = "{{ " + string.Concat(Enumerable.Repeat(open, depth)) + core + string.Concat(Enumerable.Repeat(close, depth)) + " }}";
        var e = Assert.Throws<TemplateException>(() => ChatTemplate.Parse(template));
        Assert.Contains("levels deep", e.Message);
    }

    [Fact]
    public void DeeplyNestedStatementsAreRefusedAtParseTime()
    {
        string template = string.Concat(Enumerable.Repeat("{% if true %}", 20_000)) + "x" + string.Concat(Enumerable.Repeat("{% endif %}", 20_000));
        Assert.Contains("levels deep", Assert.Throws<TemplateException>(() => ChatTemplate.Parse(template)).Message);
    }

    [Theory]
    [InlineData("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", "macro 'm' nested more than 20 calls deep")]
    [InlineData("{% macro m() %}{% call m() %}x{% endcall %}{% endmacro %}{{ m() }}", "macro 'm' nested more than 20 calls deep")]
    [InlineData("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}", "loop() nested more than 20 calls deep")]
    [InlineData("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "the template ran more than 20000 steps")]
    [InlineData("{% macro m(n) %}{% if n > 0 %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(19) }}", "the template ran more than 20000 steps")]
    [InlineData("{% for i in range(100) %}{{ 'x' * 1000 }}{% endfor %}", "the rendered text would exceed 10000 characters")]
    [InlineData("{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", "the template made a string longer than 10000 characters")]
    [InlineData("{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}", "the template made a list longer than 1000 items")]
    [InlineData("{{ 'x' * 10**12 }}", "the template made a string longer than 10000 characters")]
    [InlineData("{{ [1] * 10**12 }}", "the template made a list longer than 1000 items")]
    [InlineData("{{ 'ab'.replace('a', 'a' * 9999) * 2 }}", "the template made a string longer than 10000 characters")]
    [InlineData("{{ 'a'.center(10**9) }}", "the template made a string longer than 10000 characters")]
    [InlineData("{% for x in range(10**12) %}{% endfor %}", "range too big")]
    [InlineData("{% set l = [] %}{% do l.append(l) %}{{ l }}", "value nested too deeply to print (a list that contains itself?)")]
    [InlineData("{% set l = [] %}{% do l.append(l) %}{{ l|tojson }}", "value nested too deeply for tojson (a list that contains itself?)")]
    [InlineData("{% set a = [] %}{% set b = [] %}{% do a.append(b) %}{% do b.append(a) %}{{ a == b }}", "values nested too deeply to compare")]
    public void RunawayTemplatesStopWithAnError(string template, string message)
    {
        Assert.StartsWith(message, TemplateHarness.Error(template, Small).Reason);
    }

    [Fact]
    public void TheDefaultLimitsStopAnEndlessLoopToo()
    {
        var e = TemplateHarness.Error("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
        Assert.Equal($"the template ran more than {TemplateLimits.Default.MaxSteps} steps (an endless loop?)", e.Reason);
    }

    [Fact]
    public void DeeplyNestedInputJsonIsRefused()
    {
        JsonNode node = new JsonArray();
        for (int i = 0; i < 5_000; i++) node = new JsonArray(node);
        var input = TemplateHarness.Input(new JsonObject { ["deep"] = node });
        var e = Assert.Throws<TemplateException>(() => ChatTemplate.Parse("{{ deep }}").Render(input));
        Assert.Equal("input JSON nested too deeply", e.Reason);
    }

    [Fact]
    public void RealTemplatesStayFarBelowTheLimits()
    {
        // A 4,001-message conversation through the largest shared template renders with the default limits.
        var messages = new JsonArray { new JsonObject { ["role"] = "system", ["content"] = "sys" } };
        for (int i = 0; i < 2_000; i++)
        {
            messages.Add(new JsonObject { ["role"] = "user", ["content"] = $"question {i}" });
            messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = $"answer {i}" });
        }
        var template = ChatTemplate.Parse(File.ReadAllText(SharedData.File("templates/meetkai-functionary-medium-v3.2.jinja")));
        string text = template.Render(new ChatTemplateInput { Messages = messages, AddGenerationPrompt = true });
        Assert.Contains("answer 1999<|eot_id|>", text);
    }
}
