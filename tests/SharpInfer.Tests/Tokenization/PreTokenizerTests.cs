using System.Text;
using SharpInfer.Gguf;
using SharpInfer.Tokenization;

namespace SharpInfer.Tests.Tokenization;

/// <summary>Choosing a pre-tokenizer from <c>tokenizer.ggml.pre</c>, and the patterns that made trouble before.</summary>
public class PreTokenizerTests
{
    private static readonly Lazy<(string Key, GgufValue Value)[]> Gpt2Metadata = new(() =>
    {
        using var file = GgufFile.Open(VocabTestVectors.Model("gpt-2"));
        return file.Metadata.Select(e => (e.Key, e.Value)).ToArray();
    });

    private static Vocabulary WithPre(string? pre)
    {
        var metadata = new GgufMetadata();
        foreach (var (key, value) in Gpt2Metadata.Value)
        {
            if (key != "tokenizer.ggml.pre" || pre is not null) metadata.Set(key, value);
        }
        if (pre is not null) metadata.Set("tokenizer.ggml.pre", GgufValue.FromString(pre));
        return Vocabulary.FromGguf(metadata);
    }

    [Fact]
    public void EveryRecognisedNameBuildsItsPatterns()
    {
        foreach (string name in PreTokenizerFamilies.Names)
        {
            var vocabulary = WithPre(name);
            Assert.Empty(vocabulary.Warnings);
            Assert.Equal(name, vocabulary.PreTokenizerName);
            Assert.NotEmpty(new Tokenizer(vocabulary).Tokenize("Hello world 123", addSpecial: false));
        }
        Assert.Contains("deepseek-llm", PreTokenizerFamilies.Names);
        Assert.Contains("deepseek-v3", PreTokenizerFamilies.Names);
        Assert.Contains("qwen2", PreTokenizerFamilies.Names);
    }

    [Fact]
    public void DeepSeekLetterClassKeepsItsExactCodePoints()
    {
        // These ends change under Unicode normalisation (U+1F7D → U+03CE makes Ὗ-ώ a reversed range, which is
        // how "unsupported pre-tokenizer pattern (reversed range at 103)" came about); the pattern must hold them.
        foreach (int cp in new[] { 0x1F7D, 0x1FBE, 0x1FD3, 0x1FDB, 0x2126, 0x212A, 0x10400, 0x1E943 })
        {
            Assert.Contains(char.ConvertFromUtf32(cp), PreTokenizerPatterns.DeepSeekLetters);
        }
        var regex = new CodepointRegex(PreTokenizerPatterns.DeepSeekLetters);
        Assert.Equal([(0, 3), (3, 3)], Matches(regex, "\u1F5F\u1F60\u1F7D \u2126\u212A"));
    }

    [Fact]
    public void ClassRangesAndLiteralsOutsideTheBmpAreCodePoints()
    {
        var deseret = new CodepointRegex("[𐐀-𐑏]+");
        // 𐐀 𐐨 𐑏 are inside; 𐑐 (U+10450) and 𝔘 (U+1D518) share their high surrogates with members but are outside.
        Assert.Equal([(0, 3)], Matches(deseret, "𐐀𐐨𐑏𐑐𝔘"));
        Assert.Equal([(1, 2)], Matches(new CodepointRegex("🦙+"), "a🦙🦙b"));
        Assert.Equal([(0, 1), (2, 1)], Matches(new CodepointRegex("[^a]"), "🦙a𝔘"));
        Assert.Equal([(0, 2)], Matches(new CodepointRegex("[😀-🙏]{2}"), "😀🙏🚀"));
    }

    [Fact]
    public void EmptyMatchesCutTheTextAsStdRegexIteratorDoes()
    {
        // SuperBPE's second step matches only empty strings; each one still ends a word.
        var regex = new CodepointRegex(PreTokenizerPatterns.RightAlignedThrees);
        var matches = Matches(regex, "1234567");
        Assert.All(matches, m => Assert.Equal(0, m.Length));
        Assert.Equal([1, 4], matches.Select(m => m.Start));
        // After an empty match the same position is retried for a non-empty one before moving on.
        Assert.Equal([(0, 0), (0, 1), (1, 0), (1, 1)], Matches(new CodepointRegex("(?=x)|x"), "xx").Where(m => m.Start < 2));
    }

    [Fact]
    public void MissingNameWarnsAndUsesTheDefault()
    {
        var vocabulary = WithPre(null);
        Assert.Contains(vocabulary.Warnings, w => w.Contains("tokenizer.ggml.pre is missing"));
        Assert.Equal("default", vocabulary.PreTokenizerName);
    }

    [Fact]
    public void TokenizersOtherThanByteLevelBpeAreRefusedByName()
    {
        foreach (string name in new[] { "gemma4", "mmbert", "whitespace", "tiny_aya" })
        {
            var error = Assert.Throws<InvalidDataException>(() => WithPre(name));
            Assert.Contains($"unsupported pre-tokenizer '{name}'", error.Message);
        }
    }

    [Fact]
    public void UnknownNamesAreEscapedInTheWarning()
    {
        var vocabulary = WithPre("new\u001b[31mname");
        Assert.Contains(vocabulary.Warnings, w => w.Contains("new\\u001B[31mname"));
    }

    [Fact]
    public void TokenizingAllocatesLittleMoreThanTheIds()
    {
        var t = TokenizerVectorTests.For("llama-bpe");
        string text = string.Concat(Enumerable.Repeat("The quick brown fox jumps over 1234 lazy dogs, doesn't it? 中文 🦙\n", 400));
        t.Tokenize(text, addSpecial: false);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ids = t.Tokenize(text, addSpecial: false);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // The working buffers stay with the thread between calls; what is left is the result (4 bytes per token,
        // fewer tokens than characters). A few allocations per word would add well over 50 bytes per character.
        Assert.True(allocated < 12L * text.Length, $"{allocated} bytes for {text.Length} characters ({ids.Length} tokens)");
    }

    private static List<(int Start, int Length)> Matches(CodepointRegex regex, string text)
    {
        var list = new List<(int Start, int Length)>();
        var input = regex.Prepare(UnicodeFlags.CodePoints(text));
        regex.Matches(input, 0, input.Length, list, new BacktrackStack());
        return list;
    }
}
