using System.Text.RegularExpressions;
using SharpInfer.Tokenization;

namespace SharpInfer.Tests.Tokenization;

/// <summary>
/// The code-point regex engine against .NET's Regex on ASCII text, where both implement the same (ECMAScript-like)
/// semantics once \p{L}/\p{N}/\p{P} are spelled as their ASCII members; and the hand-written splitters against the
/// engine running the patterns they replace.
/// </summary>
public class CodepointRegexTests
{
    private const string Alphabet = "aZb09 \t\n\r'.,!?-_()[]{}$+<=>^~|`\"@#%&*/:;sStTmMdDlLrReEvV";

    private static string RandomAscii(Random r, int maxLength)
    {
        var chars = new char[r.Next(maxLength + 1)];
        for (int i = 0; i < chars.Length; i++) chars[i] = Alphabet[r.Next(Alphabet.Length)];
        return new string(chars);
    }

    private static string ToDotNet(string pattern) => pattern
        .Replace("\\p{L}", "A-Za-z").Replace("\\p{N}", "0-9")
        .Replace("\\p{P}", "!-#%-*,-/:;?@\\[-\\]_{}")
        .Replace("[A-Za-z", "[A-Za-z").Replace("(?i:", "(?i:");

    private static List<(int, int)> Ours(string pattern, string text)
    {
        var regex = new CodepointRegex(pattern);
        var cps = regex.Prepare(UnicodeFlags.CodePoints(text));
        var list = new List<(int, int)>();
        regex.Matches(cps, 0, cps.Length, list, new BacktrackStack());
        return list;
    }

    public static TheoryData<string, string> Patterns => new()
    {
        // Patterns whose \p classes sit inside brackets translate directly to .NET character classes.
        { "qwen2", "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}]+|[\\p{N}]| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" },
        { "gpt2", "'s|'t|'re|'ve|'m|'ll|'d| ?[\\p{L}]+| ?[\\p{N}]+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)" },
        { "falcon", "[\\p{P}\\$\\+<=>\\^~\\|`]+" },
        { "digits", "[0-9][0-9][0-9]" },
        { "coder", "\\s?[\\p{L}]+" },
        { "trailing", "\\s+$" },
        { "leading run", "[a-zA-Z]+[.!0-9]" },
        { "lookahead", "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[\\p{N}]{1,3}" },
    };

    [Theory]
    [MemberData(nameof(Patterns))]
    public void AgreesWithDotNetRegexOnAsciiText(string name, string pattern)
    {
        var dotnet = new Regex(ToDotNet(pattern), RegexOptions.CultureInvariant);
        var random = new Random(name.GetHashCode(StringComparison.Ordinal) & 0xFFFF);
        for (int i = 0; i < 1500; i++)
        {
            string text = RandomAscii(random, 24);
            var expected = dotnet.Matches(text).Where(m => m.Length > 0).Select(m => (m.Index, m.Length)).ToList();
            Assert.Equal(expected, Ours(pattern, text));
        }
    }

    [Fact]
    public void HandWrittenSplittersEqualTheirPatternsOnAsciiText()
    {
        var random = new Random(7);
        var gpt2 = new CodepointRegex(PreTokenizerPatterns.Gpt2 + "|\\s+");
        var llama3 = new CodepointRegex(PreTokenizerPatterns.Llama3);
        for (int i = 0; i < 3000; i++)
        {
            string text = RandomAscii(random, 20);
            var cps = UnicodeFlags.CodePoints(text);
            Assert.Equal(Split(gpt2, cps), Custom(PreTokenizerSplitters.SplitGpt2, cps));
            Assert.Equal(Split(llama3, cps), Custom(PreTokenizerSplitters.SplitLlama3, cps));
        }
    }

    /// <summary>Letters, marks, digits of several scripts, punctuation, symbols, every kind of whitespace, unassigned and astral code points.</summary>
    private static readonly string[] UnicodeAlphabet =
    [
        "a", "Z", "0", "7", "123", "4567", " ", "  ", "\t", "\n", "\r", "\v", "'", "s", "T", "re", "LL", ".", ",", "!", "-", "_", "$", "+", "<", "|", "`", "~",
        "é", "ß", "Ω", "ж", "中", "ひ", "한", "\u0301", "\u0903", "٣", "४", "Ⅻ", "½", "²", "…", "—", "「", "€", "©", "∑",
        "\u00a0", "\u3000", "\u2003", "\u0085", "\u2028", "\u200d", "\ufeff", "\u0378", "\ue000", "𝔘", "𐐀", "🦙", "𠀀", "\U0001F1EB",
    ];

    private static int[] RandomUnicode(Random r, int maxPieces)
    {
        var sb = new System.Text.StringBuilder();
        int n = r.Next(maxPieces + 1);
        for (int i = 0; i < n; i++) sb.Append(UnicodeAlphabet[r.Next(UnicodeAlphabet.Length)]);
        return UnicodeFlags.CodePoints(sb.ToString());
    }

    public static TheoryData<string> Splitters => new() { "gpt2", "llama3", "qwen2", "superbpe" };

    /// <summary>
    /// The hand-written splitters against their patterns on Unicode text. Qwen2's and SuperBPE's splitters stand in
    /// for patterns llama.cpp runs through std::regex, so they must equal the patterns; GPT-2's and Llama 3's are
    /// llama.cpp's own definitions, and the patterns agree with them as well.
    /// </summary>
    [Theory]
    [MemberData(nameof(Splitters))]
    public void HandWrittenSplittersEqualTheirPatternsOnUnicodeText(string name)
    {
        var (pattern, split) = name switch
        {
            "gpt2" => (PreTokenizerPatterns.Gpt2 + "|\\s+", (Action<int[], int, int, List<(int, int)>>)PreTokenizerSplitters.SplitGpt2),
            "llama3" => (PreTokenizerPatterns.Llama3, PreTokenizerSplitters.SplitLlama3),
            "superbpe" => (PreTokenizerPatterns.RightAlignedThrees, PreTokenizerSplitters.SplitRightAlignedThrees),
            _ => (PreTokenizerPatterns.Qwen2, PreTokenizerSplitters.SplitQwen2),
        };
        var regex = new CodepointRegex(pattern);
        var random = new Random(11);
        for (int i = 0; i < 4000; i++)
        {
            var cps = RandomUnicode(random, 14);
            var expected = Split(regex, cps);
            var actual = Custom(split, cps);
            Assert.True(expected.SequenceEqual(actual), $"{name}: {string.Join(' ', cps.Select(c => c.ToString("X")))}\n regex  {string.Join(' ', expected)}\n custom {string.Join(' ', actual)}");
        }
    }

    private static List<(int, int)> Custom(Action<int[], int, int, List<(int, int)>> split, int[] cps)
    {
        var list = new List<(int, int)>();
        split(cps, 0, cps.Length, list);
        return list;
    }

    /// <summary>Matches plus the gaps between them, as the pre-tokenizer keeps both.</summary>
    private static List<(int, int)> Split(CodepointRegex regex, int[] cps)
    {
        var prepared = regex.Prepare(cps);
        var matches = new List<(int Start, int Length)>();
        regex.Matches(prepared, 0, prepared.Length, matches, new BacktrackStack());
        var pieces = new List<(int, int)>();
        int cursor = 0;
        foreach (var (s, l) in matches)
        {
            if (s > cursor) pieces.Add((cursor, s - cursor));
            if (l > 0) pieces.Add((s, l));
            cursor = s + l;
        }
        if (cursor < cps.Length) pieces.Add((cursor, cps.Length - cursor));
        return pieces;
    }

    [Fact]
    public void CategoriesCoverCodePointsOutsideTheBmp()
    {
        var regex = new CodepointRegex("\\p{L}+");
        var cps = regex.Prepare(UnicodeFlags.CodePoints("ab𝔘𝔫c 1"));
        var list = new List<(int, int)>();
        regex.Matches(cps, 0, cps.Length, list, new BacktrackStack());
        Assert.Equal([(0, 5)], list);
    }

    [Fact]
    public void UnsupportedSyntaxIsRefusedClearly()
    {
        Assert.Contains("unsupported", Assert.Throws<ArgumentException>(() => new CodepointRegex("a+?")).Message);
        Assert.Throws<ArgumentException>(() => new CodepointRegex("\\p{Han}"));
        Assert.Throws<ArgumentException>(() => new CodepointRegex("(ab"));
    }
}
