using System.Globalization;
using System.Text;

namespace SharpInfer.Templates;

/// <summary>
/// Splits template source into text and tag tokens the way Jinja2's lexer does with Hugging Face's settings:
/// newlines normalised to <c>\n</c> and one trailing newline dropped, <c>trim_blocks</c> (the first newline after a
/// block or comment tag is removed), <c>lstrip_blocks</c> (spaces and tabs before a block or comment tag at the start
/// of a line are removed), <c>-</c>/<c>+</c> whitespace control, comments and raw blocks.
/// </summary>
internal sealed partial class TemplateLexer
{
    private const int MaxLiteralDigits = 1000;
    private readonly string _src;
    private readonly int[] _lineStarts;
    private readonly bool _trimBlocks;
    private readonly bool _lstripBlocks;
    private readonly List<Token> _tokens = [];
    private int _pos;
    // Whether the last thing consumed ended a line: lstrip_blocks also strips at the start of the text after it.
    private bool _lineStarting = true;

    private TemplateLexer(string source, bool trimBlocks, bool lstripBlocks)
    {
        _src = Normalize(source);
        _trimBlocks = trimBlocks;
        _lstripBlocks = lstripBlocks;
        var starts = new List<int> { 0 };
        for (int i = 0; i < _src.Length; i++)
        {
            if (_src[i] == '\n') starts.Add(i + 1);
        }
        _lineStarts = [.. starts];
    }

    /// <summary>The tokens of <paramref name="source"/>, ending with a <see cref="TokenKind.End"/> token.</summary>
    public static List<Token> Tokenize(string source, bool trimBlocks = true, bool lstripBlocks = true)
    {
        var lexer = new TemplateLexer(source, trimBlocks, lstripBlocks);
        lexer.Run();
        return lexer._tokens;
    }

    private static string Normalize(string source)
    {
        string text = source.Contains('\r') ? source.Replace("\r\n", "\n").Replace('\r', '\n') : source;
        return text.EndsWith('\n') ? text[..^1] : text;
    }

    private int LineAt(int position)
    {
        int index = Array.BinarySearch(_lineStarts, position);
        return (index >= 0 ? index : ~index - 1) + 1;
    }

    private TemplateException Error(string message, int position) => new(message, LineAt(position));

    private void Run()
    {
        while (_pos < _src.Length)
        {
            int tag = FindTagStart(_pos);
            if (tag < 0)
            {
                EmitData(_src[_pos..], _pos);
                break;
            }
            char kind = _src[tag + 1];
            int inner = tag + 2;
            char modifier = inner < _src.Length && _src[inner] is '-' or '+' ? _src[inner] : '\0';
            if (modifier != '\0') inner++;
            int rawBodyStart = 0;
            bool isRaw = kind == '%' && TryMatchRawBegin(inner, out rawBodyStart);
            string text = StripBeforeTag(_src[_pos..tag], modifier, kind != '{');
            EmitData(text, _pos);
            if (isRaw) LexRaw(tag, rawBodyStart);
            else if (kind == '#') LexComment(tag, inner);
            else LexTag(kind, tag, inner);
        }
        _tokens.Add(new Token(TokenKind.End, "", LineAt(_src.Length)));
    }

    private int FindTagStart(int from)
    {
        for (int i = _src.IndexOf('{', from); i >= 0 && i + 1 < _src.Length; i = _src.IndexOf('{', i + 1))
        {
            if (_src[i + 1] is '{' or '%' or '#') return i;
        }
        return -1;
    }

    /// <summary>Whitespace control on the text before a tag: <c>-</c> strips all of it, lstrip_blocks the line's indent.</summary>
    private string StripBeforeTag(string text, char modifier, bool lstripEligible)
    {
        if (modifier == '-') return PyChars.TrimEnd(text);
        if (modifier == '+' || !_lstripBlocks || !lstripEligible) return text;
        int lineStart = text.LastIndexOf('\n') + 1;
        if ((lineStart > 0 || _lineStarting) && PyChars.IsAllSpace(text, lineStart)) return text[..lineStart];
        return text;
    }

    private void EmitData(string text, int position)
    {
        if (text.Length > 0) _tokens.Add(new Token(TokenKind.Data, text, LineAt(position)));
    }

    /// <summary>After a tag's closing delimiter: <c>-</c> eats all whitespace, a plain block end one newline (trim_blocks).</summary>
    private void FinishTag(int end, char modifier, bool trim)
    {
        _pos = end;
        if (modifier == '-')
        {
            while (_pos < _src.Length && PyChars.IsSpace(_src[_pos])) _pos++;
        }
        else if (modifier != '+' && trim && _trimBlocks && _pos < _src.Length && _src[_pos] == '\n')
        {
            _pos++;
        }
        _lineStarting = _pos > 0 && _src[_pos - 1] == '\n';
    }

    private void LexComment(int tag, int inner)
    {
        int close = _src.IndexOf("#}", inner, StringComparison.Ordinal);
        if (close < 0) throw Error("missing end of comment tag '#}'", tag);
        char modifier = close - 1 >= inner && _src[close - 1] is '-' or '+' ? _src[close - 1] : '\0';
        FinishTag(close + 2, modifier, trim: true);
    }

    /// <summary>Matches <c>raw\s*(-)?%}</c> after a block start; on success the body starts at <paramref name="bodyStart"/>.</summary>
    private bool TryMatchRawBegin(int inner, out int bodyStart)
    {
        bodyStart = 0;
        int p = SkipSpace(inner);
        if (string.CompareOrdinal(_src, p, "raw", 0, 3) != 0) return false;
        p = SkipSpace(p + 3);
        if (string.CompareOrdinal(_src, p, "-%}", 0, 3) == 0)
        {
            bodyStart = SkipSpace(p + 3);
            return true;
        }
        if (string.CompareOrdinal(_src, p, "%}", 0, 2) == 0)
        {
            bodyStart = p + 2;
            return true;
        }
        return false;
    }

    private int SkipSpace(int p)
    {
        while (p < _src.Length && PyChars.IsSpace(_src[p])) p++;
        return p;
    }

    private void LexRaw(int tag, int bodyStart)
    {
        // The raw start tag ends without trim_blocks, as in Jinja2.
        _lineStarting = bodyStart > 0 && _src[bodyStart - 1] == '\n';
        for (int i = _src.IndexOf("{%", bodyStart, StringComparison.Ordinal); i >= 0; i = _src.IndexOf("{%", i + 1, StringComparison.Ordinal))
        {
            int p = i + 2;
            char modifier = p < _src.Length && _src[p] is '-' or '+' ? _src[p] : '\0';
            if (modifier != '\0') p++;
            p = SkipSpace(p);
            if (string.CompareOrdinal(_src, p, "endraw", 0, 6) != 0) continue;
            p = SkipSpace(p + 6);
            char endModifier = p < _src.Length && _src[p] is '-' or '+' ? _src[p] : '\0';
            int close = endModifier != '\0' ? p + 1 : p;
            if (string.CompareOrdinal(_src, close, "%}", 0, 2) != 0) continue;
            EmitData(StripBeforeTag(_src[bodyStart..i], modifier, lstripEligible: true), bodyStart);
            FinishTag(close + 2, endModifier, trim: true);
            return;
        }
        throw Error("missing end of raw directive ('{% endraw %}')", tag);
    }

    private void LexTag(char kind, int tag, int inner)
    {
        bool isBlock = kind == '%';
        _tokens.Add(new Token(isBlock ? TokenKind.BlockBegin : TokenKind.VariableBegin, isBlock ? "{%" : "{{", LineAt(tag)));
        _pos = inner;
        var brackets = new Stack<char>();
        while (true)
        {
            _pos = SkipSpace(_pos);
            if (_pos >= _src.Length) throw Error($"unexpected end of template: missing '{(isBlock ? "%}" : "}}")}'", tag);
            if (brackets.Count == 0 && TryEndTag(isBlock)) return;
            LexExpressionToken(brackets);
        }
    }

    private bool TryEndTag(bool isBlock)
    {
        string close = isBlock ? "%}" : "}}";
        char modifier = _src[_pos] is '-' or '+' ? _src[_pos] : '\0';
        if (modifier == '+' && !isBlock) modifier = '\0';
        int at = modifier != '\0' ? _pos + 1 : _pos;
        if (string.CompareOrdinal(_src, at, close, 0, 2) != 0) return false;
        _tokens.Add(new Token(isBlock ? TokenKind.BlockEnd : TokenKind.VariableEnd, close, LineAt(_pos)));
        FinishTag(at + 2, modifier, trim: isBlock);
        return true;
    }

    private static readonly string[] TwoCharOperators = ["**", "//", "==", "!=", "<=", ">="];
    private const string OneCharOperators = "+-/*%~[](){}<>=.:|,;";

    private void LexExpressionToken(Stack<char> brackets)
    {
        char c = _src[_pos];
        int line = LineAt(_pos);
        if (char.IsAsciiDigit(c))
        {
            LexNumber(line);
            return;
        }
        if (char.IsLetter(c) || c == '_')
        {
            int start = _pos;
            while (_pos < _src.Length && (char.IsLetterOrDigit(_src[_pos]) || _src[_pos] == '_')) _pos++;
            _tokens.Add(new Token(TokenKind.Name, _src[start.._pos], line));
            return;
        }
        if (c is '\'' or '"')
        {
            LexString(line);
            return;
        }
        foreach (string op in TwoCharOperators)
        {
            if (string.CompareOrdinal(_src, _pos, op, 0, 2) == 0)
            {
                _tokens.Add(new Token(TokenKind.Operator, op, line));
                _pos += 2;
                return;
            }
        }
        if (OneCharOperators.Contains(c))
        {
            TrackBracket(c, brackets, line);
            _tokens.Add(new Token(TokenKind.Operator, c.ToString(), line));
            _pos++;
            return;
        }
        throw new TemplateException($"unexpected character '{c}'", line);
    }

    private static void TrackBracket(char c, Stack<char> brackets, int line)
    {
        switch (c)
        {
            case '(': brackets.Push(')'); break;
            case '[': brackets.Push(']'); break;
            case '{': brackets.Push('}'); break;
            case ')' or ']' or '}':
                if (brackets.Count == 0) throw new TemplateException($"unexpected '{c}'", line);
                char expected = brackets.Pop();
                if (expected != c) throw new TemplateException($"unexpected '{c}', expected '{expected}'", line);
                break;
        }
    }

    private void LexNumber(int line)
    {
        int start = _pos;
        if (TryLexPrefixedInteger(line)) return;
        // A float needs digits after its point or an exponent; "1." is the integer 1 and an attribute dot.
        bool afterDot = start > 0 && _src[start - 1] == '.';
        int p = SkipDigits(start);
        bool isFloat = false;
        if (!afterDot && p + 1 < _src.Length && _src[p] == '.' && char.IsAsciiDigit(_src[p + 1]))
        {
            p = SkipDigits(p + 1);
            isFloat = true;
        }
        if (!afterDot && p < _src.Length && _src[p] is 'e' or 'E')
        {
            int q = p + 1;
            if (q < _src.Length && _src[q] is '+' or '-') q++;
            if (q < _src.Length && char.IsAsciiDigit(_src[q]))
            {
                p = SkipDigits(q);
                isFloat = true;
            }
        }
        string text = _src[start..p];
        if (text.Length > MaxLiteralDigits) throw new TemplateException("number literal too long", line);
        string digits = text.Replace("_", "");
        _pos = p;
        if (isFloat)
        {
            _tokens.Add(new Token(TokenKind.Float, text, line, double.Parse(digits, NumberStyles.Float, CultureInfo.InvariantCulture)));
            return;
        }
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
        {
            throw new TemplateException($"integer literal {text} is too large (integers are 64-bit here)", line);
        }
        _tokens.Add(new Token(TokenKind.Integer, text, line, value));
    }

    /// <summary>0x1F, 0o17, 0b101 (with '_' between digits), as Jinja2 accepts them.</summary>
    private bool TryLexPrefixedInteger(int line)
    {
        if (_src[_pos] != '0' || _pos + 2 >= _src.Length) return false;
        int radix = char.ToLowerInvariant(_src[_pos + 1]) switch { 'x' => 16, 'o' => 8, 'b' => 2, _ => 0 };
        if (radix == 0) return false;
        int p = _pos + 2;
        long value = 0;
        bool any = false;
        while (p < _src.Length)
        {
            char c = char.ToLowerInvariant(_src[p]);
            int digit = char.IsAsciiDigit(c) ? c - '0' : c is >= 'a' and <= 'f' ? c - 'a' + 10 : -1;
            if (c == '_' && any) { p++; continue; }
            if (digit < 0 || digit >= radix) break;
            value = value > (long.MaxValue - digit) / radix ? throw new TemplateException("integer literal too large (integers are 64-bit here)", line) : value * radix + digit;
            any = true;
            p++;
        }
        if (!any) return false;
        _tokens.Add(new Token(TokenKind.Integer, _src[_pos..p], line, value));
        _pos = p;
        return true;
    }

    private int SkipDigits(int p)
    {
        while (p < _src.Length && (char.IsAsciiDigit(_src[p]) || (_src[p] == '_' && p + 1 < _src.Length && char.IsAsciiDigit(_src[p + 1])))) p++;
        return p;
    }

    private void LexString(int line)
    {
        char quote = _src[_pos];
        int start = _pos;
        var value = new StringBuilder();
        int p = _pos + 1;
        while (true)
        {
            if (p >= _src.Length) throw new TemplateException("unterminated string literal", line);
            char c = _src[p];
            if (c == quote) break;
            if (c == '\\' && p + 1 < _src.Length)
            {
                p = AppendEscape(value, p + 1, line);
                continue;
            }
            value.Append(c);
            p++;
        }
        _pos = p + 1;
        _tokens.Add(new Token(TokenKind.String, _src[start.._pos], line, value.ToString()));
    }
}
