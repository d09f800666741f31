using System.Text;

namespace SharpInfer.Tokenization;

/// <summary>
/// A small backtracking regular-expression engine over code points with ECMAScript semantics (ordered
/// alternation, greedy quantifiers, lookahead), enough for the pre-tokenizer patterns of byte-level BPE
/// vocabularies. .NET's Regex works on UTF-16 units, so \p{L} would miss letters outside the BMP; here every
/// input element is one code point.
/// <para>
/// In <em>collapsed</em> mode (patterns that use \p{…}) the input is expected in llama.cpp's collapsed form:
/// ASCII stays, non-ASCII whitespace becomes U+000B and every other non-ASCII code point becomes a marker for its
/// category (0xD1 number, 0xD2 letter, 0xD3 punctuation, 0xD4 mark, 0xD5 symbol, 0xD0 other), and \p{X} matches
/// that marker plus the ASCII members of X. That reproduces llama.cpp's splits exactly.
/// </para>
/// </summary>
internal sealed class CodepointRegex
{
    public const int MarkerOther = 0xD0, MarkerNumber = 0xD1, MarkerLetter = 0xD2, MarkerPunctuation = 0xD3, MarkerMark = 0xD4, MarkerSymbol = 0xD5;

    private readonly Node _root;

    public CodepointRegex(string pattern)
    {
        Pattern = pattern;
        UsesCategories = pattern.Contains("\\p{", StringComparison.Ordinal);
        var parser = new Parser(UnicodeFlags.CodePoints(pattern), pattern);
        _root = parser.ParseAll();
    }

    public string Pattern { get; }

    /// <summary>True when the pattern uses \p{…} classes and so expects collapsed input.</summary>
    public bool UsesCategories { get; }

    /// <summary>Converts code points to the form this pattern matches against.</summary>
    public int[] Prepare(int[] codePoints)
    {
        var result = new int[codePoints.Length];
        for (int i = 0; i < codePoints.Length; i++)
        {
            int cp = codePoints[i];
            if (cp < 128) { result[i] = cp; continue; }
            var flags = UnicodeFlags.Of(cp);
            if ((flags & CodepointFlags.Whitespace) != 0) { result[i] = 0x0B; continue; }
            if (!UsesCategories) { result[i] = cp; continue; }
            result[i] = (flags & CodepointFlags.Categories) switch
            {
                CodepointFlags.Number => MarkerNumber,
                CodepointFlags.Letter => MarkerLetter,
                CodepointFlags.Punctuation => MarkerPunctuation,
                CodepointFlags.Mark => MarkerMark,
                CodepointFlags.Symbol => MarkerSymbol,
                _ => MarkerOther,
            };
        }
        return result;
    }

    /// <summary>
    /// Successive non-overlapping leftmost matches inside [start, end) of the prepared input, as (start, length).
    /// The range behaves as the whole subject: ^ and $ match at its edges.
    /// </summary>
    public void Matches(int[] input, int start, int end, List<(int Start, int Length)> output)
    {
        var m = new Matcher(input, start, end);
        int pos = start;
        while (pos <= end)
        {
            int found = -1, foundEnd = -1;
            for (int s = pos; s <= end; s++)
            {
                int matchEnd = -1;
                if (_root.Match(m, s, e => { matchEnd = e; return true; }))
                {
                    found = s;
                    foundEnd = matchEnd;
                    break;
                }
            }
            if (found < 0) break;
            if (foundEnd > found) output.Add((found, foundEnd - found));
            // An empty match must not stall the scan: continue one code point further on.
            pos = foundEnd > found ? foundEnd : found + 1;
        }
    }

    private delegate bool Continuation(int pos);

    private sealed class Matcher(int[] input, int start, int end)
    {
        public readonly int[] Input = input;
        public readonly int Start = start;
        public readonly int End = end;
    }

    private abstract class Node
    {
        public abstract bool Match(Matcher m, int pos, Continuation k);

        /// <summary>For single-code-point nodes: whether <paramref name="cp"/> matches (null otherwise).</summary>
        public virtual bool? MatchesOne(int cp) => null;
    }

    private sealed class CharSet(List<(int Lo, int Hi)> ranges, bool negated) : Node
    {
        public bool Contains(int cp)
        {
            bool inside = false;
            foreach (var (lo, hi) in ranges)
            {
                if (cp >= lo && cp <= hi) { inside = true; break; }
            }
            return inside != negated;
        }

        public override bool? MatchesOne(int cp) => Contains(cp);

        public override bool Match(Matcher m, int pos, Continuation k) =>
            pos < m.End && Contains(m.Input[pos]) && k(pos + 1);
    }

    private sealed class Sequence(List<Node> items) : Node
    {
        public override bool Match(Matcher m, int pos, Continuation k) => MatchFrom(0, m, pos, k);

        private bool MatchFrom(int index, Matcher m, int pos, Continuation k) =>
            index == items.Count ? k(pos) : items[index].Match(m, pos, p => MatchFrom(index + 1, m, p, k));
    }

    private sealed class Alternation(List<Node> options) : Node
    {
        public override bool Match(Matcher m, int pos, Continuation k)
        {
            foreach (var option in options)
            {
                if (option.Match(m, pos, k)) return true;
            }
            return false;
        }
    }

    private sealed class Repeat(Node inner, int min, int max) : Node
    {
        public override bool Match(Matcher m, int pos, Continuation k)
        {
            if (inner.MatchesOne(0) is not null)
            {
                // Single code point per iteration: count the run, then give back one at a time (greedy).
                int n = 0;
                while (n < max && pos + n < m.End && inner.MatchesOne(m.Input[pos + n]) == true) n++;
                for (; n >= min; n--)
                {
                    if (k(pos + n)) return true;
                }
                return false;
            }
            return MatchCount(0, m, pos, k);
        }

        private bool MatchCount(int count, Matcher m, int pos, Continuation k)
        {
            if (count < max && inner.Match(m, pos, p => p != pos && MatchCount(count + 1, m, p, k))) return true;
            return count >= min && k(pos);
        }
    }

    private sealed class Lookahead(Node inner, bool negative) : Node
    {
        public override bool Match(Matcher m, int pos, Continuation k)
        {
            bool found = inner.Match(m, pos, _ => true);
            return found != negative && k(pos);
        }
    }

    private sealed class Anchor(bool atEnd) : Node
    {
        public override bool Match(Matcher m, int pos, Continuation k) =>
            (atEnd ? pos == m.End : pos == m.Start) && k(pos);
    }

    private sealed class WordBoundary(bool negated) : Node
    {
        private static bool IsWord(int cp) => cp is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_';

        public override bool Match(Matcher m, int pos, Continuation k)
        {
            bool before = pos > m.Start && IsWord(m.Input[pos - 1]);
            bool after = pos < m.End && IsWord(m.Input[pos]);
            return ((before != after) != negated) && k(pos);
        }
    }

    private sealed class Parser(int[] p, string source)
    {
        private int _i;
        private bool _ignoreCase;

        public Node ParseAll()
        {
            var node = ParseAlternation();
            if (_i != p.Length) throw Error("unbalanced ')'");
            return node;
        }

        private Exception Error(string what) => new ArgumentException($"unsupported pre-tokenizer pattern ({what} at {_i}): {source}");

        private Node ParseAlternation()
        {
            var options = new List<Node> { ParseSequence() };
            while (_i < p.Length && p[_i] == '|')
            {
                _i++;
                options.Add(ParseSequence());
            }
            return options.Count == 1 ? options[0] : new Alternation(options);
        }

        private Node ParseSequence()
        {
            var items = new List<Node>();
            while (_i < p.Length && p[_i] != '|' && p[_i] != ')')
            {
                var atom = ParseAtom();
                items.Add(ParseQuantifier(atom));
            }
            return items.Count == 1 ? items[0] : new Sequence(items);
        }

        private Node ParseQuantifier(Node atom)
        {
            if (_i >= p.Length) return atom;
            int min, max;
            switch (p[_i])
            {
                case '?': min = 0; max = 1; _i++; break;
                case '*': min = 0; max = int.MaxValue; _i++; break;
                case '+': min = 1; max = int.MaxValue; _i++; break;
                case '{' when TryParseBraces(out min, out max): break;
                default: return atom;
            }
            if (_i < p.Length && (p[_i] == '?' || p[_i] == '+')) throw Error("lazy or possessive quantifier");
            return new Repeat(atom, min, max);
        }

        private bool TryParseBraces(out int min, out int max)
        {
            min = max = 0;
            int j = _i + 1;
            int a = ReadNumber(ref j);
            if (a < 0) return false;
            int b = a;
            if (j < p.Length && p[j] == ',')
            {
                j++;
                b = ReadNumber(ref j);
                if (b < 0) b = int.MaxValue;
            }
            if (j >= p.Length || p[j] != '}') return false;
            _i = j + 1;
            min = a;
            max = b;
            return true;
        }

        private int ReadNumber(ref int j)
        {
            int start = j, value = 0;
            while (j < p.Length && p[j] is >= '0' and <= '9') value = value * 10 + (p[j++] - '0');
            return j == start ? -1 : value;
        }

        private Node ParseAtom()
        {
            int c = p[_i];
            switch (c)
            {
                case '(':
                    return ParseGroup();
                case '[':
                    return ParseClass();
                case '.':
                    _i++;
                    return new CharSet([(10, 10), (13, 13), (0x2028, 0x2029)], negated: true);
                case '^':
                    _i++;
                    return new Anchor(false);
                case '$':
                    _i++;
                    return new Anchor(true);
                case '\\':
                {
                    _i++;
                    if (_i >= p.Length) throw Error("trailing backslash");
                    if (p[_i] == 'b') { _i++; return new WordBoundary(false); }
                    if (p[_i] == 'B') { _i++; return new WordBoundary(true); }
                    var ranges = new List<(int, int)>();
                    bool negated = ParseEscapeInto(ranges);
                    return new CharSet(ranges, negated);
                }
                default:
                    _i++;
                    return Literal(c);
            }
        }

        private Node Literal(int c)
        {
            var ranges = new List<(int, int)> { (c, c) };
            AddOtherCase(ranges, c, c);
            return new CharSet(ranges, false);
        }

        private void AddOtherCase(List<(int, int)> ranges, int lo, int hi)
        {
            if (!_ignoreCase) return;
            for (int c = Math.Max(lo, 'A'); c <= Math.Min(hi, 'Z'); c++) ranges.Add((c + 32, c + 32));
            for (int c = Math.Max(lo, 'a'); c <= Math.Min(hi, 'z'); c++) ranges.Add((c - 32, c - 32));
        }

        private Node ParseGroup()
        {
            _i++;
            bool savedCase = _ignoreCase;
            Node result;
            if (_i + 1 < p.Length && p[_i] == '?')
            {
                int kind = p[_i + 1];
                if (kind == ':') { _i += 2; result = ParseAlternation(); }
                else if (kind == '=') { _i += 2; result = new Lookahead(ParseAlternation(), false); }
                else if (kind == '!') { _i += 2; result = new Lookahead(ParseAlternation(), true); }
                else if (kind == 'i' && _i + 2 < p.Length && p[_i + 2] == ':') { _i += 3; _ignoreCase = true; result = ParseAlternation(); }
                else throw Error("group kind");
            }
            else
            {
                result = ParseAlternation();
            }
            _ignoreCase = savedCase;
            if (_i >= p.Length || p[_i] != ')') throw Error("missing ')'");
            _i++;
            return result;
        }

        private Node ParseClass()
        {
            _i++;
            bool negated = false;
            if (_i < p.Length && p[_i] == '^') { negated = true; _i++; }
            var ranges = new List<(int, int)>();
            var negatedParts = new List<List<(int, int)>>();
            while (_i < p.Length && p[_i] != ']')
            {
                int lo;
                if (p[_i] == '\\')
                {
                    _i++;
                    var part = new List<(int, int)>();
                    bool partNegated = ParseEscapeInto(part);
                    if (partNegated) { negatedParts.Add(part); continue; }
                    if (part.Count != 1 || part[0].Item1 != part[0].Item2)
                    {
                        ranges.AddRange(part);
                        continue;
                    }
                    lo = part[0].Item1;
                }
                else
                {
                    lo = p[_i++];
                }
                if (_i + 1 < p.Length && p[_i] == '-' && p[_i + 1] != ']')
                {
                    _i++;
                    int hi;
                    if (p[_i] == '\\')
                    {
                        _i++;
                        var part = new List<(int, int)>();
                        ParseEscapeInto(part);
                        hi = part[0].Item1;
                    }
                    else
                    {
                        hi = p[_i++];
                    }
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
            if (_i >= p.Length) throw Error("missing ']'");
            _i++;
            if (negatedParts.Count > 0)
            {
                // [\S…] style: fold negated escapes in by complementing them over the whole code point range.
                foreach (var part in negatedParts) ranges.AddRange(Complement(part));
            }
            return new CharSet(ranges, negated);
        }

        private static List<(int, int)> Complement(List<(int, int)> ranges)
        {
            var sorted = ranges.OrderBy(r => r.Item1).ToList();
            var result = new List<(int, int)>();
            int next = 0;
            foreach (var (lo, hi) in sorted)
            {
                if (lo > next) result.Add((next, lo - 1));
                next = Math.Max(next, hi + 1);
            }
            if (next <= 0x10FFFF) result.Add((next, 0x10FFFF));
            return result;
        }

        /// <summary>Parses the escape after a backslash into ranges; returns true when it is a negated class (\S, \D, \W, \P).</summary>
        private bool ParseEscapeInto(List<(int, int)> ranges)
        {
            int c = p[_i++];
            switch (c)
            {
                case 's': ranges.AddRange(Space); return false;
                case 'S': ranges.AddRange(Space); return true;
                case 'd': ranges.Add(('0', '9')); return false;
                case 'D': ranges.Add(('0', '9')); return true;
                case 'w': ranges.AddRange(Word); return false;
                case 'W': ranges.AddRange(Word); return true;
                case 'r': ranges.Add((13, 13)); return false;
                case 'n': ranges.Add((10, 10)); return false;
                case 't': ranges.Add((9, 9)); return false;
                case 'v': ranges.Add((11, 11)); return false;
                case 'f': ranges.Add((12, 12)); return false;
                case '0': ranges.Add((0, 0)); return false;
                case 'x': { int v = Hex(2); ranges.Add((v, v)); return false; }
                case 'u': { int v = Hex(4); ranges.Add((v, v)); return false; }
                case 'p':
                case 'P':
                {
                    if (_i >= p.Length || p[_i] != '{') throw Error("\\p without {");
                    int close = Array.IndexOf(p, '}', _i);
                    if (close < 0) throw Error("\\p without }");
                    var name = new StringBuilder();
                    for (int j = _i + 1; j < close; j++) name.Append((char)p[j]);
                    _i = close + 1;
                    ranges.AddRange(Category(name.ToString()));
                    return c == 'P';
                }
                default:
                    if (char.IsAsciiLetterOrDigit((char)c)) throw Error($"escape \\{(char)c}");
                    ranges.Add((c, c));
                    return false;
            }
        }

        private int Hex(int digits)
        {
            int v = 0;
            for (int k = 0; k < digits; k++)
            {
                if (_i >= p.Length || !Uri.IsHexDigit((char)p[_i])) throw Error("hex escape");
                v = v * 16 + Convert.ToInt32(((char)p[_i++]).ToString(), 16);
            }
            return v;
        }

        private static readonly (int, int)[] Space = [(9, 13), (32, 32)];
        private static readonly (int, int)[] Word = [('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')];

        private (int, int)[] Category(string name) => name switch
        {
            "N" => [(MarkerNumber, MarkerNumber), ('0', '9')],
            "L" or "Lu" or "Ll" or "Lt" or "Lm" or "Lo" => [(MarkerLetter, MarkerLetter), ('A', 'Z'), ('a', 'z')],
            "P" => [(MarkerPunctuation, MarkerPunctuation), ('!', '#'), ('%', '*'), (',', '/'), (':', ';'), ('?', '@'), ('[', ']'), ('_', '_'), ('{', '{'), ('}', '}')],
            "M" => [(MarkerMark, MarkerMark)],
            "S" => [(MarkerSymbol, MarkerSymbol), ('$', '$'), ('+', '+'), ('<', '>'), ('^', '^'), ('`', '`'), ('|', '|')],
            _ => throw Error($"category \\p{{{name}}}"),
        };
    }
}
