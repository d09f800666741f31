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
        regex.Matches(cps, 0, cps.Length, list);
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
        var gpt2 = new CodepointRegex(PreTokenizerSplitters.Gpt2Pattern + "|\\s+");
        var llama3 = new CodepointRegex(PreTokenizerSplitters.Llama3Pattern);
        for (int i = 0; i < 3000; i++)
        {
            string text = RandomAscii(random, 20);
            var cps = UnicodeFlags.CodePoints(text);
            Assert.Equal(Split(gpt2, cps), Custom(PreTokenizerSplitters.SplitGpt2, cps));
            Assert.Equal(Split(llama3, cps), Custom(PreTokenizerSplitters.SplitLlama3, cps));
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
        regex.Matches(prepared, 0, prepared.Length, matches);
        var pieces = new List<(int, int)>();
        int cursor = 0;
        foreach (var (s, l) in matches)
        {
            if (s > cursor) pieces.Add((cursor, s - cursor));
            pieces.Add((s, l));
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
        regex.Matches(cps, 0, cps.Length, list);
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
