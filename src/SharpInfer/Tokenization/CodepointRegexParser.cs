using System.Globalization;
using System.Text;

namespace SharpInfer.Tokenization;

/// <summary>A parsed pattern: the nodes <see cref="CodepointRegex"/> compiles.</summary>
internal abstract record RegexNode;

/// <summary>One code point from a class.</summary>
internal sealed record SetNode(CodepointClass Class) : RegexNode;

/// <summary>Nodes one after the other.</summary>
internal sealed record SequenceNode(RegexNode[] Items) : RegexNode;

/// <summary>Ordered alternatives: the first that leads to a match wins.</summary>
internal sealed record AlternationNode(RegexNode[] Options) : RegexNode;

/// <summary>A greedy quantifier (<c>Max</c> = <see cref="int.MaxValue"/> for no limit).</summary>
internal sealed record RepeatNode(RegexNode Inner, int Min, int Max) : RegexNode;

/// <summary>A positive or negative lookahead.</summary>
internal sealed record LookaheadNode(RegexNode Inner, bool Negative) : RegexNode;

/// <summary><c>^</c> or <c>$</c>: the start or end of the piece being split.</summary>
internal sealed record AnchorNode(bool AtEnd) : RegexNode;

/// <summary><c>\b</c> or <c>\B</c> over ASCII word characters.</summary>
internal sealed record WordBoundaryNode(bool Negated) : RegexNode;

/// <summary>Matches the empty string.</summary>
internal sealed record EmptyNode : RegexNode;

/// <summary>
/// Parses the ECMAScript subset the pre-tokenizer patterns use, on code points: literals, classes with ranges
/// (ends anywhere in Unicode), escapes, \p{…} categories, groups, (?: (?= (?! (?i:, greedy quantifiers, ^ $ \b \B.
/// In <em>collapsed</em> mode \p{X} stands for the marker of category X plus its ASCII members, as llama.cpp
/// rewrites such patterns for its collapsed text.
/// </summary>
internal sealed class CodepointRegexParser(string source)
{
    private readonly int[] _p = UnicodeFlags.CodePoints(source);
    private int _i;
    private bool _ignoreCase;

    public RegexNode Parse()
    {
        var node = ParseAlternation();
        if (_i != _p.Length) throw Error("unbalanced ')'");
        return node;
    }

    private ArgumentException Error(string what) => new($"unsupported pre-tokenizer pattern ({what} at {_i}): {source}");

    private RegexNode ParseAlternation()
    {
        var options = new List<RegexNode> { ParseSequence() };
        while (_i < _p.Length && _p[_i] == '|')
        {
            _i++;
            options.Add(ParseSequence());
        }
        return options.Count == 1 ? options[0] : new AlternationNode(options.ToArray());
    }

    private RegexNode ParseSequence()
    {
        var items = new List<RegexNode>();
        while (_i < _p.Length && _p[_i] != '|' && _p[_i] != ')') items.Add(ParseQuantifier(ParseAtom()));
        return items.Count switch { 0 => new EmptyNode(), 1 => items[0], _ => new SequenceNode(items.ToArray()) };
    }

    private RegexNode ParseQuantifier(RegexNode atom)
    {
        if (_i >= _p.Length) return atom;
        int min, max;
        switch (_p[_i])
        {
            case '?': min = 0; max = 1; _i++; break;
            case '*': min = 0; max = int.MaxValue; _i++; break;
            case '+': min = 1; max = int.MaxValue; _i++; break;
            case '{' when TryParseBraces(out min, out max): break;
            default: return atom;
        }
        if (_i < _p.Length && (_p[_i] == '?' || _p[_i] == '+')) throw Error("lazy or possessive quantifier");
        if (atom is AnchorNode or WordBoundaryNode or LookaheadNode) throw Error("quantified assertion");
        return new RepeatNode(atom, min, max);
    }

    private bool TryParseBraces(out int min, out int max)
    {
        min = max = 0;
        int j = _i + 1;
        int a = ReadNumber(ref j);
        if (a < 0) return false;
        int b = a;
        if (j < _p.Length && _p[j] == ',')
        {
            j++;
            b = ReadNumber(ref j);
            if (b < 0) b = int.MaxValue;
        }
        if (j >= _p.Length || _p[j] != '}') return false;
        if (b < a) throw Error("quantifier range out of order");
        _i = j + 1;
        (min, max) = (a, b);
        return true;
    }

    private int ReadNumber(ref int j)
    {
        int start = j, value = 0;
        while (j < _p.Length && _p[j] is >= '0' and <= '9' && value < 100_000) value = value * 10 + (_p[j++] - '0');
        return j == start ? -1 : value;
    }

    private RegexNode ParseAtom()
    {
        int c = _p[_i];
        switch (c)
        {
            case '(':
                return ParseGroup();
            case '[':
                return ParseClass();
            case '.':
                _i++;
                return new SetNode(new CodepointClass([(10, 10), (13, 13), (0x2028, 0x2029)], negated: true));
            case '^':
            case '$':
                _i++;
                return new AnchorNode(c == '$');
            case '*' or '+' or '?':
                throw Error("quantifier without a target");
            case '\\':
            {
                _i++;
                if (_i >= _p.Length) throw Error("trailing backslash");
                if (_p[_i] is 'b' or 'B') return new WordBoundaryNode(_p[_i++] == 'B');
                var ranges = new List<(int, int)>();
                bool negated = ParseEscapeInto(ranges);
                return new SetNode(new CodepointClass(ranges, negated));
            }
            default:
                _i++;
                var single = new List<(int, int)> { (c, c) };
                AddOtherCase(single, c, c);
                return new SetNode(new CodepointClass(single, negated: false));
        }
    }

    private void AddOtherCase(List<(int, int)> ranges, int lo, int hi)
    {
        if (!_ignoreCase) return;
        for (int c = Math.Max(lo, 'A'); c <= Math.Min(hi, 'Z'); c++) ranges.Add((c + 32, c + 32));
        for (int c = Math.Max(lo, 'a'); c <= Math.Min(hi, 'z'); c++) ranges.Add((c - 32, c - 32));
    }

    private RegexNode ParseGroup()
    {
        _i++;
        bool savedCase = _ignoreCase;
        RegexNode result;
        if (_i + 1 < _p.Length && _p[_i] == '?')
        {
            int kind = _p[_i + 1];
            if (kind == ':') { _i += 2; result = ParseAlternation(); }
            else if (kind is '=' or '!') { _i += 2; result = new LookaheadNode(ParseAlternation(), kind == '!'); }
            else if (kind == 'i' && _i + 2 < _p.Length && _p[_i + 2] == ':') { _i += 3; _ignoreCase = true; result = ParseAlternation(); }
            else throw Error("group kind");
        }
        else
        {
            result = ParseAlternation();
        }
        _ignoreCase = savedCase;
        if (_i >= _p.Length || _p[_i] != ')') throw Error("missing ')'");
        _i++;
        return result;
    }

    private RegexNode ParseClass()
    {
        _i++;
        bool negated = _i < _p.Length && _p[_i] == '^';
        if (negated) _i++;
        var ranges = new List<(int, int)>();
        while (_i < _p.Length && _p[_i] != ']')
        {
            if (!TryParseClassEnd(ranges, out int lo)) continue;
            if (_i + 1 < _p.Length && _p[_i] == '-' && _p[_i + 1] != ']')
            {
                _i++;
                if (!TryParseClassEnd(ranges, out int hi)) throw Error("class escape as a range end");
                if (hi < lo) throw Error("reversed range");
                ranges.Add((lo, hi));
                AddOtherCase(ranges, lo, hi);
            }
            else
            {
                ranges.Add((lo, lo));
                AddOtherCase(ranges, lo, lo);
            }
        }
        if (_i >= _p.Length) throw Error("missing ']'");
        _i++;
        return new SetNode(new CodepointClass(ranges, negated));
    }

    /// <summary>
    /// Reads one class member. A single code point (literal or escape) is returned for a possible range; a class
    /// escape (\s, \p{L}, \S …) is added to <paramref name="ranges"/> directly and false is returned.
    /// </summary>
    private bool TryParseClassEnd(List<(int, int)> ranges, out int codePoint)
    {
        codePoint = _p[_i++];
        if (codePoint != '\\') return true;
        if (_i >= _p.Length) throw Error("trailing backslash");
        var part = new List<(int, int)>();
        bool negated = ParseEscapeInto(part);
        if (!negated && part.Count == 1 && part[0].Item1 == part[0].Item2)
        {
            codePoint = part[0].Item1;
            return true;
        }
        ranges.AddRange(negated ? CodepointClass.Complement(part) : part);
        return false;
    }

    /// <summary>Parses the escape after a backslash into ranges; returns true when it is a negated class (\S, \D, \W, \P).</summary>
    private bool ParseEscapeInto(List<(int, int)> ranges)
    {
        int c = _p[_i++];
        switch (c)
        {
            case 's' or 'S': ranges.AddRange(Space); return c == 'S';
            case 'd' or 'D': ranges.Add(('0', '9')); return c == 'D';
            case 'w' or 'W': ranges.AddRange(Word); return c == 'W';
            case 'r': ranges.Add((13, 13)); return false;
            case 'n': ranges.Add((10, 10)); return false;
            case 't': ranges.Add((9, 9)); return false;
            case 'v': ranges.Add((11, 11)); return false;
            case 'f': ranges.Add((12, 12)); return false;
            case '0': ranges.Add((0, 0)); return false;
            case 'x' or 'u':
            {
                int v = NumericEscape(c == 'x' ? 2 : 4);
                ranges.Add((v, v));
                return false;
            }
            case 'p' or 'P':
                ranges.AddRange(Category(ReadCategoryName()));
                return c == 'P';
            default:
                if (c < 128 && char.IsAsciiLetterOrDigit((char)c)) throw Error($"escape \\{(char)c}");
                ranges.Add((c, c));
                return false;
        }
    }

    /// <summary>A \xHH or \uHHHH escape.</summary>
    private int NumericEscape(int digits)
    {
        if (_i + digits > _p.Length) throw Error("hex escape");
        var hex = new StringBuilder(digits);
        for (int k = 0; k < digits; k++) hex.Append(_p[_i + k] < 128 ? (char)_p[_i + k] : '?');
        if (!int.TryParse(hex.ToString(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value)) throw Error("hex escape");
        _i += digits;
        return value;
    }

    private string ReadCategoryName()
    {
        if (_i >= _p.Length || _p[_i] != '{') throw Error("\\p without {");
        int close = Array.IndexOf(_p, '}', _i);
        if (close < 0) throw Error("\\p without }");
        var name = new StringBuilder();
        for (int j = _i + 1; j < close; j++) name.Append((char)_p[j]);
        _i = close + 1;
        return name.ToString();
    }

    private static readonly (int, int)[] Space = [(9, 13), (32, 32)];
    private static readonly (int, int)[] Word = [('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];

    private (int, int)[] Category(string name) => name switch
    {
        "N" => [(CodepointRegex.MarkerNumber, CodepointRegex.MarkerNumber), ('0', '9')],
        "L" or "Lu" or "Ll" or "Lt" or "Lm" or "Lo" => [(CodepointRegex.MarkerLetter, CodepointRegex.MarkerLetter), ('A', 'Z'), ('a', 'z')],
        "P" => [(CodepointRegex.MarkerPunctuation, CodepointRegex.MarkerPunctuation), ('!', '#'), ('%', '*'), (',', '/'), (':', ';'), ('?', '@'), ('[', ']'), ('_', '_'), ('{', '{'), ('}', '}')],
        "M" => [(CodepointRegex.MarkerMark, CodepointRegex.MarkerMark)],
        "S" => [(CodepointRegex.MarkerSymbol, CodepointRegex.MarkerSymbol), ('$', '$'), ('+', '+'), ('<', '>'), ('^', '^'), ('`', '`'), ('|', '|'), ('~', '~')],
        _ => throw Error($"category \\p{{{name}}}"),
    };
}
