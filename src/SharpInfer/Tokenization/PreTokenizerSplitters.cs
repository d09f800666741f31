namespace SharpInfer.Tokenization;

/// <summary>
/// Hand-written equivalents of the two most common pre-tokenizer patterns, walking code points instead of
/// backtracking. They define llama.cpp's behaviour for these patterns (including its corner cases), so they are
/// used whenever a vocabulary's pattern is exactly one of them.
/// </summary>
internal static class PreTokenizerSplitters
{
    /// <summary>GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</summary>
    public const string Gpt2Pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

    /// <summary>Llama 3: contractions (any case), letters with one leading non-letter, digits in threes, punctuation runs, newlines.</summary>
    public const string Llama3Pattern = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /// <summary>The original Llama 3 spelling with a case-insensitive group; same splitter.</summary>
    public const string Llama3PatternOriginal = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

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

    public static void SplitGpt2(int[] cps, int start, int end, List<(int, int)> output)
    {
        var c = new Cursor { Cps = cps, Start = start, End = end, PrevEnd = start, Output = output };
        for (int pos = start; pos < end;)
        {
            int cp = c.Cp(pos);
            var flags = c.Flags(pos);
            if (cp == '\'' && pos + 1 < end)
            {
                int next = c.Cp(pos + 1);
                if (next is 's' or 't' or 'm' or 'd')
                {
                    pos += c.Emit(pos + 2);
                    continue;
                }
                if (pos + 2 < end)
                {
                    int next2 = c.Cp(pos + 2);
                    if (next == 'r' && next2 == 'e' || next == 'v' && next2 == 'e' || next == 'l' && next2 == 'l')
                    {
                        pos += c.Emit(pos + 3);
                        continue;
                    }
                }
            }
            var flags2 = cp == ' ' ? c.Flags(pos + 1) : flags;
            if (Has(flags2, CodepointFlags.Letter))
            {
                if (cp == ' ') pos++;
                while (Has(flags2, CodepointFlags.Letter)) flags2 = c.Flags(++pos);
                c.Emit(pos);
                continue;
            }
            if (Has(flags2, CodepointFlags.Number))
            {
                if (cp == ' ') pos++;
                while (Has(flags2, CodepointFlags.Number)) flags2 = c.Flags(++pos);
                c.Emit(pos);
                continue;
            }
            if (!Has(flags2, WordLike) && flags2 != CodepointFlags.None)
            {
                if (cp == ' ') pos++;
                while (!Has(flags2, WordLike) && flags2 != CodepointFlags.None) flags2 = c.Flags(++pos);
                c.Emit(pos);
                continue;
            }
            int spaces = 0;
            while (Has(c.Flags(pos + spaces), CodepointFlags.Whitespace)) spaces++;
            if (spaces > 1 && c.Cp(pos + spaces) != OutOfRange)
            {
                pos += spaces - 1;
                c.Emit(pos);
                continue;
            }
            if (spaces > 0)
            {
                pos += spaces;
                c.Emit(pos);
                continue;
            }
            c.Emit(++pos);
        }
    }

    public static void SplitLlama3(int[] cps, int start, int end, List<(int, int)> output)
    {
        var c = new Cursor { Cps = cps, Start = start, End = end, PrevEnd = start, Output = output };
        for (int pos = start; pos < end;)
        {
            int cp = c.Cp(pos);
            var flags = c.Flags(pos);
            if (cp == '\'' && pos + 1 < end)
            {
                int next = UnicodeFlags.ToLower(c.Cp(pos + 1));
                if (next is 's' or 't' or 'm' or 'd')
                {
                    pos += c.Emit(pos + 2);
                    continue;
                }
                if (pos + 2 < end)
                {
                    int next2 = UnicodeFlags.ToLower(c.Cp(pos + 2));
                    if (next == 'r' && next2 == 'e' || next == 'v' && next2 == 'e' || next == 'l' && next2 == 'l')
                    {
                        pos += c.Emit(pos + 3);
                        continue;
                    }
                }
            }
            if (!(cp == '\r' || cp == '\n' || Has(flags, CodepointFlags.Number)))
            {
                if (Has(flags, CodepointFlags.Letter) || Has(c.Flags(pos + 1), CodepointFlags.Letter))
                {
                    pos++;
                    while (Has(c.Flags(pos), CodepointFlags.Letter)) pos++;
                    c.Emit(pos);
                    continue;
                }
            }
            if (Has(flags, CodepointFlags.Number))
            {
                int first = pos;
                while (Has(c.Flags(pos), CodepointFlags.Number))
                {
                    if (++pos - first >= 3)
                    {
                        c.Emit(pos);
                        first = pos;
                    }
                }
                c.Emit(pos);
                continue;
            }
            var flags2 = cp == ' ' ? c.Flags(pos + 1) : flags;
            // llama.cpp tests the current code point's flags here (not flags2): kept for identical splits.
            if (!Has(flags2, WordLike) && flags != CodepointFlags.None)
            {
                if (cp == ' ') pos++;
                while (!Has(flags2, WordLike) && flags2 != CodepointFlags.None) flags2 = c.Flags(++pos);
                int cp2 = c.Cp(pos);
                while (cp2 is '\r' or '\n') cp2 = c.Cp(++pos);
                c.Emit(pos);
                continue;
            }
            int spaces = 0, lastNewlineEnd = 0;
            while (Has(c.Flags(pos + spaces), CodepointFlags.Whitespace))
            {
                int cp2 = c.Cp(pos + spaces);
                if (cp2 is '\r' or '\n') lastNewlineEnd = pos + spaces + 1;
                spaces++;
            }
            if (lastNewlineEnd > 0)
            {
                pos = lastNewlineEnd;
                c.Emit(pos);
                continue;
            }
            if (spaces > 1 && c.Cp(pos + spaces) != OutOfRange)
            {
                pos += spaces - 1;
                c.Emit(pos);
                continue;
            }
            if (spaces > 0)
            {
                pos += spaces;
                c.Emit(pos);
                continue;
            }
            c.Emit(++pos);
        }
    }
}
