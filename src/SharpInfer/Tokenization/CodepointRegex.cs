namespace SharpInfer.Tokenization;

/// <summary>
/// A backtracking regular-expression engine over code points with ECMAScript semantics (ordered alternation,
/// greedy quantifiers, lookahead), enough for the pre-tokenizer patterns of byte-level BPE vocabularies.
/// .NET's Regex works on UTF-16 units, so \p{L} would miss letters outside the BMP and a class range such as
/// 𐐀-𐑏 would be two surrogate halves; here every input element, and every pattern element, is one code point.
/// <para>
/// Patterns compile to a small instruction list run by an explicit backtracking stack, so matching allocates
/// nothing. In <em>collapsed</em> mode (patterns that use \p{…}) the input is llama.cpp's collapsed form:
/// ASCII stays, non-ASCII whitespace becomes U+000B and every other non-ASCII code point becomes a marker for its
/// category (0xD0 other, 0xD1 number, 0xD2 letter, 0xD3 punctuation, 0xD4 mark, 0xD5 symbol), and \p{X}
/// matches that marker plus the ASCII members of X. That reproduces llama.cpp's splits exactly. Other patterns
/// see the code points themselves (non-ASCII whitespace still becomes U+000B, as llama.cpp does for std::wregex).
/// </para>
/// <para>Successive matches follow std::regex_iterator: leftmost first; after an empty match the next attempt
/// at the same position must be non-empty, else the search moves on one code point.</para>
/// </summary>
internal sealed partial class CodepointRegex
{
    public const int MarkerOther = 0xD0, MarkerNumber = 0xD1, MarkerLetter = 0xD2, MarkerPunctuation = 0xD3, MarkerMark = 0xD4, MarkerSymbol = 0xD5;

    private readonly Instruction[] _program;
    private readonly CodepointClass[] _classes;
    private readonly CodepointClass? _first;
    private readonly CodepointClass? _leadingRun;

    public CodepointRegex(string pattern)
    {
        Pattern = pattern;
        UsesCategories = pattern.Contains("\\p{", StringComparison.Ordinal);
        var root = new CodepointRegexParser(pattern).Parse();
        var compiler = new Compiler(pattern);
        compiler.Emit(root);
        compiler.Add(new Instruction(Op.Match));
        _program = compiler.Program.ToArray();
        _classes = compiler.Classes.ToArray();
        var (first, nullable) = FirstSet(root);
        _first = nullable ? null : first;
        // A pattern that opens with an unbounded run of one class (\s+$): when it fails at the start of a run,
        // it fails inside that run too (the same continuation sees a subset of the run's ends), so the search can
        // skip the run instead of retrying at each of its code points, which would take quadratic time.
        if (_program[0] is { Op: Op.SetRepeat, B: >= 1, C: int.MaxValue } lead) _leadingRun = _classes[lead.A];
    }

    public string Pattern { get; }

    /// <summary>True when the pattern uses \p{…} classes and so expects collapsed input.</summary>
    public bool UsesCategories { get; }

    /// <summary>Converts code points to the form a pattern matches against (collapsed or not).</summary>
    public static void Prepare(ReadOnlySpan<int> codePoints, Span<int> output, bool collapsed)
    {
        for (int i = 0; i < codePoints.Length; i++)
        {
            int cp = codePoints[i];
            if (cp < 128) { output[i] = cp; continue; }
            var flags = UnicodeFlags.Of(cp);
            if ((flags & CodepointFlags.Whitespace) != 0) { output[i] = 0x0B; continue; }
            if (!collapsed) { output[i] = cp; continue; }
            output[i] = (flags & CodepointFlags.Categories) switch
            {
                CodepointFlags.Number => MarkerNumber,
                CodepointFlags.Letter => MarkerLetter,
                CodepointFlags.Punctuation => MarkerPunctuation,
                CodepointFlags.Mark => MarkerMark,
                CodepointFlags.Symbol => MarkerSymbol,
                _ => MarkerOther,
            };
        }
    }

    /// <summary>Converts code points to the form this pattern matches against.</summary>
    public int[] Prepare(int[] codePoints)
    {
        var result = new int[codePoints.Length];
        Prepare(codePoints, result, UsesCategories);
        return result;
    }

    /// <summary>
    /// Successive matches inside [start, end) of the prepared input, as (start, length); empty matches are
    /// reported too (they still cut the text). The range behaves as the whole subject: ^ and $ match at its edges.
    /// </summary>
    public void Matches(int[] input, int start, int end, List<(int Start, int Length)> output, BacktrackStack stack)
    {
        var run = new Run(this, input, start, end, stack);
        int pos = start;
        while (pos <= end)
        {
            int found = -1, foundEnd = -1;
            for (int s = pos; s <= end; s++)
            {
                if (_first is not null && (s == end || !_first.Contains(input[s]))) continue;
                int e = run.MatchAt(s, requireNonEmpty: false);
                if (e >= 0) { found = s; foundEnd = e; break; }
                if (_leadingRun is not null)
                {
                    while (s + 1 < end && _leadingRun.Contains(input[s + 1])) s++;
                }
            }
            if (found < 0) return;
            output.Add((found, foundEnd - found));
            pos = foundEnd;
            if (foundEnd > found) continue;
            // An empty match: std::regex_iterator first retries here for a non-empty match, else moves on one.
            if (pos == end) return;
            int nonEmpty = run.MatchAt(pos, requireNonEmpty: true);
            if (nonEmpty < 0)
            {
                pos++;
                continue;
            }
            output.Add((pos, nonEmpty - pos));
            pos = nonEmpty;
        }
    }

    private enum Op : byte { Set, SetRepeat, Split, Jump, Match, Lookahead, LookaheadEnd, AssertStart, AssertEnd, WordBoundary, NotWordBoundary }

    /// <summary>One instruction: <c>A</c> is a class index or jump target, <c>B</c> a second target or min, <c>C</c> a max.</summary>
    private readonly record struct Instruction(Op Op, int A = 0, int B = 0, int C = 0);

    private static (CodepointClass? First, bool Nullable) FirstSet(RegexNode node)
    {
        switch (node)
        {
            case SetNode s:
                return (s.Class, false);
            case SequenceNode seq:
            {
                CodepointClass? first = null;
                foreach (var item in seq.Items)
                {
                    var (f, nullable) = FirstSet(item);
                    first = Union(first, f);
                    if (!nullable) return (first, false);
                }
                return (first, true);
            }
            case AlternationNode alt:
            {
                CodepointClass? first = null;
                bool nullable = false;
                foreach (var option in alt.Options)
                {
                    var (f, n) = FirstSet(option);
                    first = Union(first, f);
                    nullable |= n;
                }
                return (first, nullable);
            }
            case RepeatNode r:
            {
                var (f, n) = FirstSet(r.Inner);
                return (f, n || r.Min == 0);
            }
            default:
                // Assertions consume nothing.
                return (null, true);
        }
    }

    private static CodepointClass? Union(CodepointClass? a, CodepointClass? b) => a is null ? b : b is null ? a : a.Union(b);
}
