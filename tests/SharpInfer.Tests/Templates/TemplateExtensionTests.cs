using SharpInfer.Templates;

namespace SharpInfer.Tests.Templates;

/// <summary>
/// What this engine allows beyond Hugging Face's sandboxed Jinja2 (documented in docs/templates.md): list and dict
/// methods that mutate, <c>{% do %}</c>, and HF's <c>{% generation %}</c> marker, which renders its body.
/// </summary>
public class TemplateExtensionTests
{
    [Theory]
    [InlineData("{% set l = [1] %}{% do l.append(2) %}{{ l }} {{ l.pop() }} {{ l }}", "[1, 2] 2 [1]")]
    [InlineData("{% set l = [1] %}{% set _ = l.extend([5, 6]) %}{% do l.insert(0, 0) %}{{ l }} {{ l.index(5) }} {{ l.count(6) }}", "[0, 1, 5, 6] 2 1")]
    [InlineData("{% set x = [1, 2] %}{% set y = x %}{% do y.append(3) %}{{ x }}", "[1, 2, 3]")]
    [InlineData("{% set d = {'a': 1} %}{% do d.update({'b': 2}) %}{{ d }} {{ d.pop('a') }} {{ d }} {{ d.pop('z', 'none') }}", "{'a': 1, 'b': 2} 1 {'b': 2} none")]
    [InlineData("{% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{% do c.reset() %}{{ c.current }}", "abaa")]
    [InlineData("<{% generation %}assistant text{% endgeneration %}>", "<assistant text>")]
    public void RendersTheExtensions(string template, string expected) => Assert.Equal(expected, TemplateHarness.Render(template));

    [Fact]
    public void ATemplateRendersManyTimesWithoutLeakingState()
    {
        var template = ChatTemplate.Parse("{% set ns = namespace(n=0) %}{% for m in msgs %}{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n }}");
        var results = Enumerable.Range(0, 8).AsParallel().Select(_ => template.Render(TemplateHarness.Input())).ToList();
        Assert.All(results, r => Assert.Equal("3", r));
    }
}
