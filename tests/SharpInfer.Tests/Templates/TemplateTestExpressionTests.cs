namespace SharpInfer.Tests.Templates;

/// <summary>The 'is' tests, against Jinja2 3.1.</summary>
public class TemplateTestExpressionTests
{
    [Theory]
    [InlineData("{{ x is defined }} {{ x is undefined }} {{ d is defined }} {{ none is defined }} {{ n is none }} {{ 'x' is not none }}", "False True True True True True")]
    [InlineData("{{ 'abc' is string }} {{ 1 is integer }} {{ 1.0 is float }} {{ 1.0 is integer }} {{ true is boolean }} {{ 1 is boolean }} {{ 1 is number }} {{ True is number }} {{ 'x' is number }}", "True True True False True False True True False")]
    [InlineData("{{ {} is mapping }} {{ msgs[0] is mapping }} {{ [] is sequence }} {{ 'a' is sequence }} {{ d is sequence }} {{ 'a' is iterable }} {{ none is iterable }} {{ undefined_thing is iterable }} {{ 1 is iterable }}", "True True True True True True False True False")]
    [InlineData("{{ range is callable }} {{ d.items is callable }} {{ 1 is callable }}", "True True False")]
    [InlineData("{{ 3 is equalto 3 }} {{ 3 is eq 3 }} {{ 3 is ne 4 }} {{ 3 is lt 4 }} {{ 3 is ge 3 }} {{ 3 is greaterthan 2 }} {{ 3 is lessthan 2 }} {{ 3 is le 2 }} {{ 3 is gt 2 }}", "True True True True True True False False True")]
    [InlineData("{{ 3 is in [3] }} {{ 'x' is in 'xyz' }} {{ 'k' is in {'k': 1} }}", "True True True")]
    [InlineData("{{ -1 is odd }} {{ 0 is even }} {{ 3 is odd }} {{ 4 is divisibleby 2 }} {{ 9 is divisibleby(3) }} {{ 4 is divisibleby 0 if false else 'x' }}", "True True True True True x")]
    [InlineData("{{ 'ABC' is upper }} {{ 'abc' is lower }} {{ 'Abc' is lower }}", "True True False")]
    [InlineData("{{ 1 is sameas true }} {{ true is sameas true }} {{ none is sameas none }}", "False True True")]
    [InlineData("{{ none is none }} {{ false is false }} {{ 0 is false }} {{ 1 is true }} {{ true is true }}", "True True False False True")]
    [InlineData("{{ x is filter }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ 'nope' is test }}", "False True True False")]
    [InlineData("{{ msgs[0].content is string }} {{ msgs[2].tool_calls is iterable }} {{ msgs[2].tool_calls[0].function.arguments is mapping }} {{ msgs[1].tool_calls is not defined }}", "True True True True")]
    public void TestsMatchJinja2(string template, string expected) => Assert.Equal(expected, TemplateHarness.Render(template));
}
