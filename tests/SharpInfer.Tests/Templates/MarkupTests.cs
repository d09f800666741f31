namespace SharpInfer.Tests.Templates;

/// <summary>
/// markupsafe's Markup as |safe and |escape return it: str operands added to it are HTML-escaped, its str methods
/// and some filters keep it Markup, printing and ~ give plain text. Real templates depend on this (functionary
/// v3.1 adds tool JSON to a |safe string). Expected strings from Jinja2 3.1 with markupsafe.
/// </summary>
public class MarkupTests
{
    [Theory]
    [InlineData("{{ \"a\"|safe + '<b>' }} {{ '<b>' + \"a\"|safe }} {{ (\"a\"|safe + '<b>') ~ '<i>' }} {{ (\"x\"|safe * 2) + '&' }}", "a&lt;b&gt; &lt;b&gt;a a&lt;b&gt;<i> xx&amp;")]
    [InlineData("{{ (\"<p>\"|safe + u)|length }} {{ (\"a\"|safe + '\"')|upper }} {{ (\"a\"|safe + '\"')|upper + '<' }} {{ ('<'|safe)|string + '<' }}", "35 A&#34; A&#34;&lt; <&lt;")]
    [InlineData("{{ \"%s<\"|safe % '<' }} {{ (\"%s-%s\"|safe) % ('<', 1) }} {{ \"%(a)s\"|safe % {'a': '&'} }}", "&lt;< &lt;-1 &amp;")]
    [InlineData("{{ '<'|e }} {{ '<'|e|e }} {{ '<'|forceescape|forceescape }} {{ ('<'|e) + '>' }} {{ '<'|e is escaped }} {{ '<' is escaped }} {{ '<'|e is string }}", "&lt; &lt; &amp;lt; &lt;&gt; True False True")]
    [InlineData("{{ ('a'|safe).upper() + '<' }} {{ ('a,b'|safe).split(',') }} {{ ('<x>'|safe).replace('x', '<') }} {{ ('-'|safe).join(['<', '>']) }}", "A&lt; [Markup('a'), Markup('b')] <&lt;> &lt;-&gt;")]
    [InlineData("{{ ('ab'|safe)[0] + '<' }} {{ ('abc'|safe)[1:] + '<' }} {{ 'a'|safe == 'a' }} {{ 'a' in ('abc'|safe) }} {{ {'a'|safe: 1}['a'] }}", "a&lt; bc&lt; True True 1")]
    [InlineData("{{ ('a'|safe)|trim + '<' }} {{ (' a '|safe)|trim|tojson }} {{ ('a'|safe)|replace('a', 'b') + '<' }} {{ ('a'|safe)|title + '<' }} {{ ['<'|safe, '>']|join('&') }}", "a&lt; \"a\" b< A< <&>")]
    [InlineData("{{ ('a\\nb'|safe)|indent(2) + '<' }} {{ ('ab'|safe)|reverse + '<' }} {{ ('a'|safe)|center(3) + '<' }} {{ ('%s'|safe)|format('<') }}", "a\n  b&lt; ba&lt;  a &lt; &lt;")]
    [InlineData("{{ ['<'|safe] }} {{ 'a'|safe ~ 1 }} {{ none|safe + '<' }}", "[Markup('<')] a1 None&lt;")]
    public void BehavesAsMarkupsafe(string template, string expected) => Assert.Equal(expected, TemplateHarness.Render(template));
}
