namespace SharpInfer.Tokenization;

internal static partial class PreTokenizerSplitters
{
    /// <summary>
    /// Kimi K2: Han runs; words of letters other than Han after one optional leading non-letter, with an optional
    /// contraction in any case; then Llama 3's digits, punctuation and whitespace rules.
    /// </summary>
    public static void SplitKimiK2(int[] cps, int start, int end, List<(int, int)> output)
    {
        var c = new Cursor { Cps = cps, Start = start, End = end, PrevEnd = start, Output = output };
        for (int pos = start; pos < end;)
        {
            int cp = c.Cp(pos);
            var flags = c.Flags(pos);
            if (UnicodeFlags.IsHan(cp))
            {
                while (UnicodeFlags.IsHan(c.Cp(pos))) pos++;
                c.Emit(pos);
                continue;
            }
            bool leads = !(cp == '\r' || cp == '\n' || Has(flags, CodepointFlags.Letter) || Has(flags, CodepointFlags.Number));
            if (Has(flags, CodepointFlags.Letter) || leads && IsNonHanLetter(c, pos + 1))
            {
                if (leads) pos++;
                while (IsNonHanLetter(c, pos)) pos++;
                pos += Contraction(c, pos, anyCase: true);
                c.Emit(pos);
                continue;
            }
            pos = SplitDigitsPunctuationWhitespace(ref c, pos, punctuationTestsCurrent: false);
        }
    }

    private static bool IsNonHanLetter(in Cursor c, int pos) => Has(c.Flags(pos), CodepointFlags.Letter) && !UnicodeFlags.IsHan(c.Cp(pos));

    /// <summary>
    /// AFMoE's digit step: each digit run is cut into a leading group of (length mod 3) digits and then threes.
    /// As in llama.cpp, text before a run is not cut off: it stays with the run's first group.
    /// </summary>
    public static void SplitAfmoeDigits(int[] cps, int start, int end, List<(int, int)> output)
    {
        var c = new Cursor { Cps = cps, Start = start, End = end, PrevEnd = start, Output = output };
        for (int pos = start; pos < end;)
        {
            if (!Has(c.Flags(pos), CodepointFlags.Number))
            {
                pos++;
                continue;
            }
            int first = pos;
            while (Has(c.Flags(pos), CodepointFlags.Number)) pos++;
            int current = first + (pos - first) % 3;
            if (current > first) c.Emit(current);
            for (; current < pos; current += 3) c.Emit(current + 3);
        }
        c.Emit(end);
    }

    /// <summary>
    /// SuperBPE's second step, (?=(\d{3})+(?!\d)): an empty match wherever the ASCII digits from there to the end
    /// of their run are a positive multiple of three, so each run is cut into threes from the right. Run through
    /// the regex engine the lookahead rescans the run at every position (quadratic); here it is one pass.
    /// </summary>
    public static void SplitRightAlignedThrees(int[] cps, int start, int end, List<(int, int)> output)
    {
        var c = new Cursor { Cps = cps, Start = start, End = end, PrevEnd = start, Output = output };
        for (int pos = start; pos < end;)
        {
            if (cps[pos] is < '0' or > '9')
            {
                pos++;
                continue;
            }
            int runEnd = pos;
            while (runEnd < end && cps[runEnd] is >= '0' and <= '9') runEnd++;
            for (int cut = pos + (runEnd - pos) % 3; cut < runEnd; cut += 3) c.Emit(cut);
            pos = runEnd;
        }
        c.Emit(end);
    }
}
