using System.Globalization;
using System.Runtime.CompilerServices;

namespace SharpInfer.Tokenization;

/// <summary>Coarse Unicode categories the pre-tokenizers test (the \p{…} classes), plus White_Space.</summary>
[Flags]
internal enum CodepointFlags : ushort
{
    None = 0,
    Number = 0x02,
    Letter = 0x04,
    Separator = 0x08,
    Mark = 0x10,
    Punctuation = 0x20,
    Symbol = 0x40,
    Control = 0x80,
    Categories = 0xFF,
    Whitespace = 0x100,
}

/// <summary>
/// Code point classification. Categories follow the Unicode general category (unassigned code points count
/// as control, as in llama.cpp's tables); whitespace is the Unicode White_Space property.
/// </summary>
internal static class UnicodeFlags
{
    private static readonly CodepointFlags[] Bmp = BuildBmp();

    private static CodepointFlags[] BuildBmp()
    {
        var table = new CodepointFlags[0x10000];
        for (int cp = 0; cp < table.Length; cp++) table[cp] = Compute(cp);
        return table;
    }

    /// <summary>Flags of a code point (anything outside 0..0x10FFFF has none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CodepointFlags Of(int cp) => (uint)cp < 0x10000 ? Bmp[cp] : cp <= 0x10FFFF ? Compute(cp) : CodepointFlags.None;

    public static bool IsWhitespace(int cp) => (Of(cp) & CodepointFlags.Whitespace) != 0;
    public static bool IsLetter(int cp) => (Of(cp) & CodepointFlags.Letter) != 0;
    public static bool IsNumber(int cp) => (Of(cp) & CodepointFlags.Number) != 0;

    private static CodepointFlags Compute(int cp)
    {
        if (cp is >= 0xD800 and <= 0xDFFF) return CodepointFlags.Control;
        var flags = CharUnicodeInfo.GetUnicodeCategory(cp) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CodepointFlags.Letter,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => CodepointFlags.Mark,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CodepointFlags.Number,
            UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => CodepointFlags.Separator,
            UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
                or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation => CodepointFlags.Punctuation,
            UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
                or UnicodeCategory.OtherSymbol => CodepointFlags.Symbol,
            _ => CodepointFlags.Control,
        };
        if (IsWhiteSpaceProperty(cp)) flags |= CodepointFlags.Whitespace;
        return flags;
    }

    private static bool IsWhiteSpaceProperty(int cp) => cp is (>= 0x09 and <= 0x0D) or 0x20 or 0x85 or 0xA0 or 0x1680
        or (>= 0x2000 and <= 0x200A) or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000;

    /// <summary>Simple lowercase mapping of one code point (identity when it has none).</summary>
    public static int ToLower(int cp)
    {
        if (cp < 0x80) return cp is >= 'A' and <= 'Z' ? cp + 32 : cp;
        string s = char.ConvertFromUtf32(cp).ToLowerInvariant();
        return char.ConvertToUtf32(s, 0);
    }

    /// <summary>Decodes a string into code points (lone surrogates become U+FFFD).</summary>
    public static int[] CodePoints(ReadOnlySpan<char> text)
    {
        var result = new int[text.Length];
        int n = CodePoints(text, result);
        return n == result.Length ? result : result[..n];
    }

    /// <summary>Decodes a string into <paramref name="output"/> (at least as long as the text); returns the count.</summary>
    public static int CodePoints(ReadOnlySpan<char> text, Span<int> output)
    {
        int n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                output[n++] = char.ConvertToUtf32(c, text[i + 1]);
                i++;
            }
            else
            {
                output[n++] = char.IsSurrogate(c) ? 0xFFFD : c;
            }
        }
        return n;
    }

    /// <summary>Whether a code point is a Han (CJK) ideograph, by the block ranges llama.cpp's Kimi K2 splitter uses.</summary>
    public static bool IsHan(int cp) => cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF)
        or (>= 0x2A700 and <= 0x2B73F) or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF) or (>= 0x2CEB0 and <= 0x2EBEF)
        or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);

    /// <summary>Appends a code point to a builder as UTF-16.</summary>
    public static void Append(System.Text.StringBuilder sb, int cp)
    {
        if (cp < 0x10000) sb.Append((char)cp);
        else sb.Append(char.ConvertFromUtf32(cp));
    }
}
