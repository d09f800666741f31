namespace SharpInfer.Tests.Templates;

/// <summary>Operators and precedence, literals, Python's str() of values (floats, reprs, escapes), slicing, attribute and item access, string/dict methods, % and str.format formatting, strftime_now; expected strings from Jinja2 3.1.</summary>
public class TemplateExpressionTests
{
    [Theory]
    [InlineData("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 in [1] }} {{ 'x' not in 'abc' }} {{ 1 == 1.0 }} {{ 1 != 1.0 }} {{ 1 == true }} {{ [1] == (1,) }} {{ {'a': 1} == {'a': 1.0} }}", "True False True True True False True False True")]
    [InlineData("{{ 'abc' == 'abc' }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ (1, 'a') < (1, 'b') }} {{ none == none }} {{ 'é' > 'z' }}", "True True True True True True")]
    [InlineData("{{ 2.5|round }} {{ 7 // -2 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ -2 ** 2 }} {{ 2 ** 3 ** 2 }}", "2.0 -4 2 3.5 1024 4 64")]
    [InlineData("{{ 5 // 2 }} {{ 5.0 // 2 }} {{ -5 // 2 }} {{ 5 % -3 }} {{ 5.5 % 2 }} {{ -5.5 % 2 }} {{ 2 ** -1 }} {{ 2 ** 0.5 }} {{ 2 ** 62 }}", "2 2.0 -3 -1 1.5 0.5 0.5 1.4142135623730951 4611686018427387904")]
    [InlineData("{{ not 1 == 2 }} {{ not 1 in [1] }} {{ 1 not in [2] }} {{ 2 * 3 + 1 }} {{ 2 + 3 * 4 ** 2 }} {{ (2 + 3) * 4 }} {{ 10 - 2 - 3 }}", "True False True 7 50 20 5")]
    [InlineData("{{ not true }} {{ not 0 and 1 }} {{ 0 or 'x' }} {{ '' or none }} {{ 1 and 2 }} {{ [] and 3 }}", "False 1 x None 2 []")]
    [InlineData("{{ -3|abs }} {{ - 3 }} {{ +3 }} {{ -(3) }} {{ -1|abs }} {{ [1,2]|length + 1 }} {{ 'ab'|upper ~ 'c' }}", "3 -3 3 -3 1 3 ABc")]
    [InlineData("{{ 'a' ~ (1 + 2) }} {{ 1 ~ 2 ~ 'a' }} {{ 'x' ~ 'y' | upper }} {{ ('x' ~ 'y') | upper }} {{ 'x' ~ none ~ true ~ 1.0 }} {{ undefined_thing ~ 'x' }} {{ (1,2) ~ [3] }}", "a3 12a xY XY xNoneTrue1.0 x (1, 2)[3]")]
    [InlineData("{{ 'x' if 1 > 2 else 'y' if 2 > 3 else 'z' }} {{ 1 if false }}|{{ (1 if false) is defined }}", "z |False")]
    [InlineData("{{ (1,2) + (3,) }} {{ 'ab' * 3 }} {{ [0] * 3 }} {{ 3 * 'x' }} {{ [1] + [2] }} {{ 'a' + 'b' }}", "(1, 2, 3) ababab [0, 0, 0] xxx [1, 2] ab")]
    [InlineData("{{ d }} {{ l }} {{ (1,'a') }} {{ 1.0 }} {{ 1e16 }} {{ 1.5e-5 }} {{ \"it's\" }} {{ [\"it's\", 'a\"b', \"x\\ny\"] }}", "{'a': 1, 'b': [1, 2]} [3, 1, 2] (1, 'a') 1.0 1e+16 1.5e-05 it's [\"it's\", 'a\"b', 'x\\ny']")]
    [InlineData("{{ true }} {{ True }} {{ none }} {{ None }} {{ [none, true, 1.5, 'x', {'k': none}] }} {{ {(1, 2): 'x'} }} {{ {none: 1, true: 2, 1.5: 3} }}", "True True None None [None, True, 1.5, 'x', {'k': None}] {(1, 2): 'x'} {None: 1, True: 2, 1.5: 3}")]
    [InlineData("{{ 1.0 == 1 }} {{ 1.10 }} {{ 2.50|string }} {{ 1e3 }} {{ 12345678901234567890.0 }} {{ 0.000012 }} {{ 0.1 + 0.2 }} {{ 1/3 }} {{ 10/5 }} {{ 1e100 }} {{ 1e-7 }} {{ 0.0001 }} {{ -0.0 }} {{ 100000000000000000.0 }} {{ 1e300 * 1e10 }}", "True 1.1 2.5 1000.0 1.2345678901234567e+19 1.2e-05 0.30000000000000004 0.3333333333333333 2.0 1e+100 1e-07 0.0001 -0.0 1e+17 inf")]
    [InlineData("{{ \"a\\tb\\x01é\\u00a0\\U0001F600\"|string }} {{ [\"a\\tb\\x01é\\u00a0\\U0001F600\", \"\\\\\"] }} {{ [u] }}", "a\tb\u0001é 😀 ['a\\tb\\x01é\\xa0😀', '\\\\'] ['héllo 😀 <b>&\"\\'']")]
    [InlineData("{{ \"a\" \"b\" 'c' }} {{ 'it\\'s' }} {{ \"tab\\there\" }} {{ '\\x41\\u0042\\101' }} {{ 'back\\\\slash' }} {{ '\\q' }}", "abc it's tab\there ABA back\\slash \\q")]
    [InlineData("{{ 1_000 + 0x10 }} {{ 0o17 }} {{ 0b101 }} {{ 1.5e3 }} {{ 123456789012345678 }}", "1016 15 5 1500.0 123456789012345678")]
    [InlineData("{{ [1,2,3][::-1] }} {{ 'hello'[1:3] }} {{ [1,2,3][-1] }} {{ 'abc'[-1] }} {{ 'abc'[5] is defined }} {{ [1,2,3][1:] }} {{ [1,2,3][:-1] }} {{ 'hello'[::2] }} {{ 'hello'[10:] }} {{ u[0:3] }} {{ u[7] }}", "[3, 2, 1] el 3 c False [2, 3] [1, 2] hlo  hél  ")]
    [InlineData("{{ d['a'] }} {{ d.a }} {{ l.0 }} {{ l.1 }} {{ msgs.0.role }} {{ {'a': {'b': 2}}['a']['b'] }} {{ {1: 'x', 'y': 2}[1] }} {{ n.x is defined }} {{ d.missing is defined }}", "1 1 3 1 system 2 x False False")]
    [InlineData("{{ range(3) }} {{ range(1, 10, 3)|list }} {{ range(5, 0, -2)|list }} {{ range(3)|length }} {{ namespace(a=1) }} {{ dict(a=1, b=2) }} {{ dict({'x': 1}, y=2) }}", "range(0, 3) [1, 4, 7] [5, 3, 1] 3 <Namespace {'a': 1}> {'a': 1, 'b': 2} {'x': 1, 'y': 2}")]
    [InlineData("{{ s.split() }} {{ s.split('o') }} {{ '  a b  '.split(' ') }} {{ ' a  b c '.split(None, 1) }} {{ 'a,b,c'.rsplit(',', 1) }} {{ 'a,b,,c'.split(',') }}", "['Hello', 'World'] ['Hell', ' W', 'rld'] ['', '', 'a', 'b', '', ''] ['a', 'b c '] ['a,b', 'c'] ['a', 'b', '', 'c']")]
    [InlineData("{{ ' x '.strip() }}{{ 'xxhixx'.strip('x') }} {{ ' a '.lstrip() }}| {{ ' a '.rstrip() }}| {{ 'abcabc'.rstrip('cb') }} {{ 'abc'.startswith(('x','a')) }} {{ 'abc'.endswith('bc') }}", "xhi a |  a| abca True True")]
    [InlineData("{{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.count('l') }} {{ '-'.join(['a','b']) }} {{ 'aXbX'.replace('X', '_', 1) }} {{ 'hello'.find('z') }} {{ \"\\n\".join([\"a\", \"b\"]) }}", "2 3 2 a-b a_bX -1 a\nb")]
    [InlineData("{{ 'Ab'.lower() }} {{ 'Ab'.upper() }} {{ \"hello-world o'neil\".title() }} {{ 'hello world'.capitalize() }} {{ 'CamelCase'.swapcase() }} {{ \"line1\\nline2\\r\\nline3\".splitlines() }}", "ab AB Hello-World O'Neil Hello world cAMELcASE ['line1', 'line2', 'line3']")]
    [InlineData("{{ 'abc'.center(8, '*') }}|{{ 'ab'.ljust(5, '.') }}|{{ 'ab'.rjust(5) }}|{{ '42'.zfill(5) }}|{{ 'a-b-c'.partition('-') }} {{ 'a-b-c'.rpartition('-') }} {{ 'prefix_x'.removeprefix('prefix_') }} {{ 'A1'.isalnum() }} {{ '12'.isdigit() }} {{ ' '.isspace() }}", "**abc***|ab...|   ab|00042|('a', '-', 'b-c') ('a-b', '-', 'c') x True True True")]
    [InlineData("{{ d.keys()|list }} {{ d.values()|list }} {{ d.get('z', 'dflt') }} {{ d.get('a') }} {{ d.items()|list }} {{ {'a': 1}.items()|list }}", "['a', 'b'] [1, [1, 2]] dflt 1 [('a', 1), ('b', [1, 2])] [('a', 1)]")]
    [InlineData("{{ \"%s and %d\" % ('a', 3) }} {{ '%5.1f|%-4d|%x|%r|%s|%05d|%+d|%e|%g' % (3.14159, 42, 255, 'a', none, 42, 5, 12345.678, 0.00001234) }}", "a and 3   3.1|42  |ff|'a'|None|00042|+5|1.234568e+04|1.234e-05")]
    [InlineData("{{ '%s' % [1, 2] }} {{ '%s' % {'a': 1} }} {{ '%c%c' % (65, 'b') }} {{ '%.3s' % 'abcdef' }} {{ '%10.3f|' % 3.14159 }} {{ '%-10s|' % 'hi' }} {{ '%(a)s-%(b)s' % {'a': 1, 'b': 2} }} {{ '100%%' % () }}", "[1, 2] {'a': 1} Ab abc      3.142| hi        | 1-2 100%")]
    [InlineData("{{ '%G %g %g %g %g' % (1e20, 1e20, 123456789, 0.0001, 100.0) }}", "1E+20 1e+20 1.23457e+08 0.0001 100")]
    [InlineData("{{ \"{} {x}\".format(1, x=2) }} {{ '{:>6}|{:<4}|{:^5}|{:.3f}|{!r}'.format('ab', 'c', 'd', 2.5, 'q') }} {{ '{0}{1}{0}'.format('a', 'b') }} {{ '{:,}'.format(1234567) }} {{ '{:08.3f}'.format(-3.14159) }}", "1 2     ab|c   |  d  |2.500|'q' aba 1,234,567 -003.142")]
    [InlineData("{{ 'Hello {name}'.format(name='World') }} {{ '{0:>5}|{1:<5}|'.format(1, 2) }} {{ '{:5}|{:5}|'.format(1, 'a') }} {{ '{:.2%}'.format(0.123) }} {{ '{:x}'.format(255) }} {{ '{0[0]}{1.a}'.format(['z'], {'a': 'q'}) if false else '' }}", "Hello World     1|2    |     1|a    | 12.30% ff ")]
    [InlineData("{{ strftime_now('%d %b %Y %A %B %j %I %p %y %H:%M:%S %-d %-m %e') }} {{ strftime_now(\"%Y-%m-%d\") }}", "02 Jan 2026 Friday January 002 03 AM 26 03:04:05 2 1  2 2026-01-02")]
    public void EvaluatesAsJinja2Does(string template, string expected) => Assert.Equal(expected, TemplateHarness.Render(template));
}
