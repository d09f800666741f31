namespace SharpInfer.Tokenization;

/// <summary>
/// Hand-written splitters llama.cpp uses in place of some patterns (GPT-2, Llama 3, Kimi K2, AFMoE digits),
/// walking code points instead of backtracking. They define llama.cpp's behaviour for these patterns (including
/// its corner cases, where it differs from the regex), so they are used whenever a family names one of them.
/// </summary>
internal static partial class PreTokenizerSplitters
{
    private const int OutOfRange = -1;

    private ref struct Cursor
    {
        public int[] Cps;
        public int Start;
        public int End;
        public int PrevEnd;
        public List<(int, int)> Output;

        public readonly int Cp(int pos) => pos >= Start && pos < End ? Cps[pos] : OutOfRange;

        public readonly CodepointFlags Flags(int pos) => pos >= Start && pos < End ? UnicodeFlags.Of(Cps[pos]) : CodepointFlags.None;

        public int Emit(int end)
        {
            int length = end - PrevEnd;
            if (length > 0) Output.Add((PrevEnd, length));
            PrevEnd = end;
            return length;
        }
    }

    private static bool Has(CodepointFlags f, CodepointFlags bit) => (f & bit) != 0;

    private const CodepointFlags WordLike = CodepointFlags.Whitespace | CodepointFlags.Letter | CodepointFlags.Number;

    /// <summary>The length of a contraction ('s 't 're 've 'm 'll 'd) at <paramref name="pos"/>, or 0.</summary>
    private static int Contraction(in Cursor c, int pos, bool anyCase)
    {
        if (c.Cp(pos) != '\'' || pos + 1 >= c.End) return 0;
        int next = anyCase ? UnicodeFlags.ToLower(c.Cp(pos + 1)) : c.Cp(pos + 1);
        if (next is 's' or 't' or 'm' or 'd') return 2;
        if (pos + 2 >= c.End) return 0;
        int next2 = anyCase ? UnicodeFlags.ToLower(c.Cp(pos + 2)) : c.Cp(pos + 2);
        return next == 'r' && next2 == 'e' || next == 'v' && next2 == 'e' || next == 'l' && next2 == 'l' ? 3 : 0;
    }

    /// <summary>GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</summary>
    public static void SplitGpt2(int[] cps, int start, int end, List<(int, int)> output)
    {
        var c = new Cursor { Cps = cps, Start = start, End = end, PrevEnd = start, Output = output };
        for (int pos = start; pos < end;)
        {
            int cp = c.Cp(pos);
            if (Contraction(c, pos, anyCase: false) is var contraction and > 0)
            {
                pos += c.Emit(pos + contraction);
                continue;
            }
            var flags2 = cp == ' ' ? c.Flags(pos + 1) : c.Flags(pos);
            if (Has(flags2, CodepointFlags.Letter) || Has(flags2, CodepointFlags.Number) || !Has(flags2, WordLike) && flags2 != CodepointFlags.None)
            {
                // One run of letters, of digits, or of anything else that is not whitespace, after an optional space.
                var kind = Has(flags2, CodepointFlags.Letter) ? CodepointFlags.Letter : Has(flags2, CodepointFlags.Number) ? CodepointFlags.Number : CodepointFlags.None;
                if (cp == ' ') pos++;
                while (kind != CodepointFlags.None ? Has(flags2, kind) : !Has(flags2, WordLike) && flags2 != CodepointFlags.None) flags2 = c.Flags(++pos);
                c.Emit(pos);
                continue;
            }
            pos = SplitWhitespace(ref c, pos, newlinesEndRun: false);
        }
    }

    /// <summary>Llama 3: contractions in any case, letters after one optional non-letter, digits in threes, punctuation runs, newlines.</summary>
    public static void SplitLlama3(int[] cps, int start, int end, List<(int, int)> output) => SplitLlama3Like(cps, start, end, output, maxDigits: 3);

    /// <summary>
    /// Qwen2: Llama 3 with single digits. llama.cpp runs this one through std::regex; the randomized tests hold
    /// this splitter to the pattern itself, run by <see cref="CodepointRegex"/>.
    /// </summary>
    public static void SplitQwen2(int[] cps, int start, int end, List<(int, int)> output) => SplitLlama3Like(cps, start, end, output, maxDigits: 1);

    private static void SplitLlama3Like(int[] cps, int start, int end, List<(int, int)> output, int maxDigits)
    {
        var c = new Cursor { Cps = cps, Start = start, End = end, PrevEnd = start, Output = output };
        for (int pos = start; pos < end;)
        {
            int cp = c.Cp(pos);
            var flags = c.Flags(pos);
            if (Contraction(c, pos, anyCase: true) is var contraction and > 0)
            {
                pos += c.Emit(pos + contraction);
                continue;
            }
            if (!(cp == '\r' || cp == '\n' || Has(flags, CodepointFlags.Number))
                && (Has(flags, CodepointFlags.Letter) || Has(c.Flags(pos + 1), CodepointFlags.Letter)))
            {
                pos++;
                while (Has(c.Flags(pos), CodepointFlags.Letter)) pos++;
                c.Emit(pos);
                continue;
            }
            // llama.cpp tests the current code point's flags in the punctuation rule (not those after a space).
            pos = SplitDigitsPunctuationWhitespace(ref c, pos, punctuationTestsCurrent: true, maxDigits);
        }
    }

    /// <summary>
    /// The rules Llama 3 style splitters share after their word rule, at a position no earlier rule took:
    /// \p{N}{1,maxDigits} | ?[^\s\p{L}\p{N}]+[\r\n]* | whitespace. Returns the position after what was emitted.
    /// </summary>
    private static int SplitDigitsPunctuationWhitespace(ref Cursor c, int pos, bool punctuationTestsCurrent, int maxDigits = 3)
    {
        int cp = c.Cp(pos);
        var flags = c.Flags(pos);
        if (Has(flags, CodepointFlags.Number))
        {
            int first = pos;
            while (Has(c.Flags(pos), CodepointFlags.Number))
            {
                if (++pos - first >= maxDigits)
                {
                    c.Emit(pos);
                    first = pos;
                }
            }
            c.Emit(pos);
            return pos;
        }
        var flags2 = cp == ' ' ? c.Flags(pos + 1) : flags;
        if (!Has(flags2, WordLike) && (punctuationTestsCurrent ? flags : flags2) != CodepointFlags.None)
        {
            if (cp == ' ') pos++;
            while (!Has(flags2, WordLike) && flags2 != CodepointFlags.None) flags2 = c.Flags(++pos);
            while (c.Cp(pos) is '\r' or '\n') pos++;
            c.Emit(pos);
            return pos;
        }
        return SplitWhitespace(ref c, pos, newlinesEndRun: true);
    }

    /// <summary>
    /// Whitespace rules: with <paramref name="newlinesEndRun"/>, \s*[\r\n]+ first (up to the last line break of the run);
    /// then \s+(?!\S) (a run before a non-space keeps its last space for the next word), then \s+; anything else alone.
    /// </summary>
    private static int SplitWhitespace(ref Cursor c, int pos, bool newlinesEndRun)
    {
        int spaces = 0, lastNewlineEnd = 0;
        while (Has(c.Flags(pos + spaces), CodepointFlags.Whitespace))
        {
            if (c.Cp(pos + spaces) is '\r' or '\n') lastNewlineEnd = pos + spaces + 1;
            spaces++;
        }
        if (newlinesEndRun && lastNewlineEnd > 0) pos = lastNewlineEnd;
        else if (spaces > 1 && c.Cp(pos + spaces) != OutOfRange) pos += spaces - 1;
        else if (spaces > 0) pos += spaces;
        else pos++;
        c.Emit(pos);
        return pos;
    }
}
