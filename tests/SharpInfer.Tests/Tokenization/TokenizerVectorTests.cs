using System.Collections.Concurrent;
using SharpInfer.Gguf;
using SharpInfer.Tokenization;
using Xunit.Abstractions;

namespace SharpInfer.Tests.Tokenization;

public class TokenizerVectorTests(ITestOutputHelper output)
{
    private static readonly ConcurrentDictionary<string, Tokenizer> Cache = new();

    internal static Tokenizer For(string family) => Cache.GetOrAdd(family, f =>
    {
        using var file = GgufFile.Open(VocabTestVectors.Model(f));
        return Tokenizer.FromGguf(file);
    });

    public static TheoryData<string> Families => new(VocabTestVectors.Families);

    [Theory]
    [MemberData(nameof(Families))]
    public void MatchesLlamaCppOnEveryTestString(string family)
    {
        var tokenizer = For(family);
        int failures = 0;
        foreach (var (text, expected) in VocabTestVectors.Load(family))
        {
            var ids = tokenizer.Tokenize(text, addSpecial: false, parseSpecial: false);
            if (!ids.SequenceEqual(expected))
            {
                failures++;
                output.WriteLine($"{family}: {System.Text.Json.JsonSerializer.Serialize(text)}\n  expected {string.Join(' ', expected)}\n  actual   {string.Join(' ', ids)}");
            }
        }
        Assert.Equal(0, failures);
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void DetokenizingGivesBackTheText(string family)
    {
        var tokenizer = For(family);
        foreach (var (text, _) in VocabTestVectors.Load(family))
        {
            var ids = tokenizer.Tokenize(text, addSpecial: false);
            // SentencePiece drops the leading space it adds; byte-level BPE is lossless once clean-up is off.
            string back = tokenizer.Detokenize(ids, cleanSpaces: false);
            Assert.Equal(text, back);
        }
    }
}
