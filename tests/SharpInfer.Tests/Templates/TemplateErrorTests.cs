using SharpInfer.Templates;

namespace SharpInfer.Tests.Templates;

/// <summary>
/// Errors: what Jinja2 raises is raised here too (same wording where Jinja2 has one), always as a TemplateException
/// that names the line; raise_exception keeps the template's own message; unsupported features say so.
/// </summary>
public class TemplateErrorTests
{
    [Theory]
    [InlineData("line1\n{% if true %}\nx\n", 3, "unexpected end of template: the 'if' block opened on line 2 is not closed (expected 'elif' or 'else' or 'endif')")]
    [InlineData("a\nb\n{% foo %}", 3, "unknown tag 'foo'")]
    [InlineData("{% for x in l %}\n{% endif %}", 2, "unexpected 'endif', expected 'endfor' or 'else' to close the 'for' block opened on line 1")]
    [InlineData("{% endif %}", 1, "unexpected 'endif'")]
    [InlineData("a\n\n{{ x|nosuchfilter }}", 3, "no filter named 'nosuchfilter'")]
    [InlineData("\n{{ 1 is nosuchtest }}", 2, "no test named 'nosuchtest'")]
    [InlineData("{{ x|urlize }}", 1, "the filter 'urlize' is not supported")]
    [InlineData("{{ 'abc }}", 1, "unterminated string literal")]
    [InlineData("{{ 1 @ 2 }}", 1, "unexpected character '@'")]
    [InlineData("x\n{# abc", 2, "missing end of comment tag '#}'")]
    [InlineData("{% raw %}never closed", 1, "missing end of raw directive ('{% endraw %}')")]
    [InlineData("{{ x", 1, "unexpected end of template: missing '}}'")]
    [InlineData("{{ [1, 2} }}", 1, "unexpected '}', expected ']'")]
    [InlineData("{{ }}", 1, "expected an expression, got end of print statement")]
    [InlineData("{% break %}", 1, "'break' outside of a loop")]
    [InlineData("{% for x in [1] %}{% macro m() %}{% continue %}{% endmacro %}{% endfor %}", 1, "'continue' outside of a loop")]
    [InlineData("{% set 1 = 2 %}", 1, "cannot assign to '1'")]
    [InlineData("{{ 99999999999999999999 }}", 1, "integer literal 99999999999999999999 is too large (integers are 64-bit here)")]
    [InlineData("{{ '\\N{BULLET}' }}", 1, "named unicode escapes (\\N{...}) are not supported")]
    public void SyntaxErrorsNameTheProblemAndLine(string template, int line, string reason)
    {
        var e = Assert.Throws<TemplateException>(() => ChatTemplate.Parse(template));
        Assert.Equal(reason, e.Reason);
        Assert.Equal(line, e.Line);
        Assert.Equal($"{reason} (line {line})", e.Message);
        Assert.False(e.RaisedByTemplate);
    }

    [Theory]
    [InlineData("a\n{% include 'x.jinja' %}", "include", 2)]
    [InlineData("{% extends 'base.jinja' %}", "extends", 1)]
    [InlineData("{% import 'm.jinja' as m %}", "import", 1)]
    [InlineData("{% from 'm.jinja' import x %}", "from", 1)]
    [InlineData("\n\n{% block body %}{% endblock %}", "block", 3)]
    public void LoadingOtherTemplatesIsRefusedAsUnsupported(string template, string tag, int line)
    {
        var e = Assert.Throws<TemplateException>(() => ChatTemplate.Parse(template));
        Assert.StartsWith($"'{tag}' is not supported", e.Reason);
        Assert.Equal(line, e.Line);
    }

    [Theory]
    [InlineData("\n{{ foo.bar }}", 2, "'foo' is undefined")]
    [InlineData("{{ d.missing.x }}", 1, "'dict object' has no attribute 'missing'")]
    [InlineData("{{ l[7].x }}", 1, "list object has no element 7")]
    [InlineData("{{ undefined_thing + 1 }}", 1, "'undefined_thing' is undefined")]
    [InlineData("{{ undefined_thing < 1 }}", 1, "'undefined_thing' is undefined")]
    [InlineData("{{ undefined_thing() }}", 1, "'undefined_thing' is undefined")]
    [InlineData("{{ undefined_thing|tojson }}", 1, "Object of type Undefined is not JSON serializable")]
    [InlineData("{% set x = 1 %}\n{% set y = 'a' %}\n{{ x + y }}", 3, "unsupported operand type(s) for +: 'int' and 'str'")]
    [InlineData("{{ 'a' + 1 }}", 1, "can only concatenate str (not \"int\") to str")]
    [InlineData("{{ [1, 2] + (3,) }}", 1, "can only concatenate list (not \"tuple\") to list")]
    [InlineData("{{ 'a' < 1 }}", 1, "'<' not supported between instances of 'str' and 'int'")]
    [InlineData("{{ 10 / 0 }}", 1, "division by zero")]
    [InlineData("{{ 10 // 0 }}", 1, "integer division or modulo by zero")]
    [InlineData("{{ n|length }}", 1, "object of type 'NoneType' has no len()")]
    [InlineData("{{ range(100001)|length }}", 1, "range too big: 100001 items (the limit is 100000, as in Jinja2's sandbox)")]
    [InlineData("{% macro m(a) %}{% endmacro %}\n{{ m(1, 2) }}", 2, "macro 'm' takes not more than 1 argument(s)")]
    [InlineData("{% macro m(a) %}{% endmacro %}{{ m(b=2) }}", 1, "macro 'm' takes no keyword argument 'b'")]
    [InlineData("{{ 'x'.nosuchmethod() }}", 1, "'str object' has no attribute 'nosuchmethod'")]
    [InlineData("{{ 1() }}", 1, "'int' object is not callable")]
    [InlineData("{% set ns = 1 %}{% set ns.a = 2 %}", 1, "cannot assign attribute on non-namespace object 'ns'")]
    [InlineData("{% set a, b = [1, 2, 3] %}", 1, "too many values to unpack (expected 2)")]
    [InlineData("{{ 'a'|join(1, 2, 3) }}", 1, "join takes at most 2 argument(s) (3 given)")]
    [InlineData("{{ 'a'|trim(q=1) }}", 1, "trim got an unexpected keyword argument 'q'")]
    [InlineData("{{ [1][1:2:0] }}", 1, "slice step cannot be zero")]
    [InlineData("{{ 2 ** 63 }}", 1, "integer overflow (integers are 64-bit here)")]
    [InlineData("{% if true %}\n\n{{ 1|nosuchfilter }}\n{% endif %}", 3, "no filter named 'nosuchfilter'")]
    public void RuntimeErrorsNameTheProblemAndLine(string template, int line, string reason)
    {
        var e = TemplateHarness.Error(template);
        Assert.Equal(reason, e.Reason);
        Assert.Equal(line, e.Line);
        Assert.Equal($"{reason} (line {line})", e.Message);
    }

    [Fact]
    public void RaiseExceptionCarriesTheTemplatesOwnMessage()
    {
        var e = TemplateHarness.Error("{% if true %}\n{{ raise_exception('Only user and assistant roles are supported!') }}\n{% endif %}");
        Assert.Equal("Only user and assistant roles are supported!", e.Message);
        Assert.True(e.RaisedByTemplate);
        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void UnknownFiltersInsideConditionalsOnlyFailWhenTheyRun()
    {
        Assert.Equal("ok", TemplateHarness.Render("{% if x %}\n{{ x|nosuchfilter }}\n{% endif %}ok"));
        Assert.Equal("b", TemplateHarness.Render("{{ x|nosuchfilter if x else 'b' }}"));
        Assert.Equal("ok", TemplateHarness.Render("{% if false %}{{ 1 is nosuchtest }}{% endif %}ok"));
    }

    [Fact]
    public void UndefinedValuesAreLenientWhereJinja2IsLenient()
    {
        // Printing, iterating, testing, comparing for equality and '~' never raise on Undefined.
        Assert.Equal("|0|[]|False|True|x|False", TemplateHarness.Render(
            "{{ nothing }}|{{ nothing|length }}|{{ nothing|list }}|{{ 'a' in nothing }}|{{ nothing == other }}|{{ nothing ~ 'x' }}|{{ nothing is defined }}"));
        Assert.Equal("|False", TemplateHarness.Render("{{ n.x }}|{{ n.x is defined }}"));
    }
}
