namespace SharpInfer.Tests.Templates;

/// <summary>trim_blocks, lstrip_blocks, - and + whitespace control on blocks, prints, comments and raw blocks, and the dropped final newline, as Jinja2 3.1 renders them with Hugging Face's settings.</summary>
public class WhitespaceControlTests
{
    [Theory]
    [InlineData("  {% if true %}\n  x\n  {% endif %}\n  {{ 'y' }}  {# c #}\nz", "  x\n  y  z")]
    [InlineData("a  {%+ if true %}b{% endif +%}\nc", "a  b\nc")]
    [InlineData("  {%- if true -%}  q  {% endif %}", "q  ")]
    [InlineData("{% raw %}  {{ x }}{% endraw %}\nnext", "  {{ x }}next")]
    [InlineData("   {% raw %}\n{{ x }}\n   {% endraw %}", "\n{{ x }}\n")]
    [InlineData("{% raw -%}\n   x {{ y }}\n{%- endraw %}", "x {{ y }}")]
    [InlineData("{# c #}\nx", "x")]
    [InlineData("a{{ 1 }}\n  {% if true %}y{% endif %}", "a1\ny")]
    [InlineData("a\n  {%- if true %}\nb\n  {% endif -%}\n  c", "ab\nc")]
    [InlineData("{% if true %}\n  x\n{% endif %}", "  x\n")]
    [InlineData("x {{- ' y ' -}} z", "x y z")]
    [InlineData("{%- set a = 1 -%}\n\n  {{ a }}", "1")]
    [InlineData("    {# comment #}\nline", "line")]
    [InlineData("text   {#- comment -#}   more", "textmore")]
    [InlineData("{% if true -%}\n    a\n{%- endif %}", "a")]
    [InlineData("{{ 'a' }}\n{{ 'b' }}", "a\nb")]
    [InlineData("{% for i in range(3) %}\n{{ i }}\n{% endfor %}", "0\n1\n2\n")]
    [InlineData("{% for i in range(3) -%}\n{{ i }}\n{%- endfor %}", "012")]
    [InlineData("  {% for i in range(2) %}\n  - {{ i }}\n  {% endfor %}", "  - 0\n  - 1\n")]
    [InlineData("{%- for m in msgs -%}\n  {{- m.role }}\n{% endfor -%}\nEND", "system\nuser\nassistant\nEND")]
    [InlineData("{% for m in msgs %}\n    {% if m.role == 'user' %}\n        {{ m.content }}\n    {% endif %}\n{% endfor %}", "        hi\n")]
    [InlineData("{%- for message in msgs %}\n    {%- if message.role == \"user\" %}\n        {{- '<|user|>\\n' + message.content }}\n    {%- elif message.role == \"assistant\" %}\n        {{- '<|assistant|>\\n' + message.content }}\n    {%- endif %}\n{%- endfor %}", "<|user|>\nhi<|assistant|>\nyo")]
    [InlineData("line1\nline2", "line1\nline2")]
    public void StripsWhitespaceAsJinja2Does(string template, string expected) => Assert.Equal(expected, TemplateHarness.Render(template));
}
