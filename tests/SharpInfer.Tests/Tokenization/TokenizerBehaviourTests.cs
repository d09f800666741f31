using System.Text;
using System.Text.Json;
using SharpInfer.Gguf;
using SharpInfer.Tokenization;

namespace SharpInfer.Tests.Tokenization;

public class TokenizerBehaviourTests
{
    [Fact]
    public void Stories260KPromptsMatchTheReferenceTokens()
    {
        using var file = GgufFile.Open(SharedData.Stories);
        var tokenizer = Tokenizer.FromGguf(file);
        using var reference = JsonDocument.Parse(File.ReadAllText(SharedData.File("reference/stories260K.json")));
        int cases = 0;
        foreach (var c in reference.RootElement.GetProperty("cases").EnumerateArray())
        {
            string prompt = c.GetProperty("prompt").GetString()!;
            var expected = c.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(expected, tokenizer.Tokenize(prompt, addSpecial: true));
            cases++;
        }
        Assert.True(cases >= 5);
    }

    [Fact]
    public void SpecialIdsAndFlagsFollowTheMetadata()
    {
        var spm = TokenizerVectorTests.For("llama-spm").Vocabulary;
        Assert.Equal(VocabularyKind.SentencePiece, spm.Kind);
        Assert.Equal((1, 2, 0), (spm.Bos, spm.Eos, spm.Unk));
        Assert.True(spm.AddBos);
        Assert.False(spm.AddEos);
        Assert.True(spm.AddSpacePrefix);
        Assert.True(spm.IsEndOfGeneration(2));

        var bpe = TokenizerVectorTests.For("llama-bpe").Vocabulary;
        Assert.Equal(VocabularyKind.BytePair, bpe.Kind);
        Assert.Equal(128000, bpe.Bos);
        Assert.Equal(128009, bpe.Eos);
        Assert.True(bpe.AddBos);
        Assert.True(bpe.IgnoreMerges);
        Assert.True(bpe.IsEndOfGeneration(bpe.Find("<|eot_id|>")));
        Assert.True(bpe.IsEndOfGeneration(bpe.Find("<|end_of_text|>")));
        Assert.True(bpe.IsEndOfGeneration(bpe.Find("<|eom_id|>")));
        Assert.False(bpe.IsEndOfGeneration(bpe.Find("<|start_header_id|>")));

        var gpt2 = TokenizerVectorTests.For("gpt-2").Vocabulary;
        Assert.False(gpt2.AddBos);
        Assert.True(gpt2.IsControl(50256));
        Assert.True(gpt2.IsEndOfGeneration(50256));
    }

    [Fact]
    public void ParseSpecialDecidesWhetherControlTextBecomesAToken()
    {
        var t = TokenizerVectorTests.For("llama-bpe");
        int eot = t.Vocabulary.Find("<|eot_id|>");
        var parsed = t.Tokenize("Hi<|eot_id|>there", addSpecial: false, parseSpecial: true);
        Assert.Contains(eot, parsed);
        Assert.Equal(3, parsed.Length);
        var plain = t.Tokenize("Hi<|eot_id|>there", addSpecial: false, parseSpecial: false);
        Assert.DoesNotContain(eot, plain);
        Assert.Equal("Hi<|eot_id|>there", t.Detokenize(plain));
        Assert.Equal("Hithere", t.Detokenize(parsed));
        Assert.Equal("Hi<|eot_id|>there", t.Detokenize(parsed, unparseSpecial: true));
        var withBos = t.Tokenize("Hi", addSpecial: true);
        Assert.Equal(128000, withBos[0]);
        Assert.Equal("Hi", t.Detokenize(withBos, removeSpecial: true));
    }

    [Fact]
    public void SentencePieceSpacePrefixRestartsAfterSpecialTokens()
    {
        var t = TokenizerVectorTests.For("llama-spm");
        var ids = t.Tokenize("Hello</s>world", addSpecial: true, parseSpecial: true);
        Assert.Equal(1, ids[0]);
        int eos = Array.IndexOf(ids, 2);
        Assert.True(eos > 1);
        // "world" after a special token gets the leading space again, exactly as at the start of the text.
        var alone = t.Tokenize("world", addSpecial: false);
        Assert.Equal(alone, ids[(eos + 1)..]);
    }

    [Fact]
    public void Phi3AddedTokensSwallowFollowingWhitespace()
    {
        var t = TokenizerVectorTests.For("phi-3");
        int end = t.Vocabulary.Find("<|end|>");
        Assert.True(end > 0);
        var a = t.Tokenize("<|end|>\n   x", addSpecial: false, parseSpecial: true);
        var b = t.Tokenize("<|end|>x", addSpecial: false, parseSpecial: true);
        Assert.Equal(b, a);
        Assert.Equal(end, a[0]);
    }

    [Fact]
    public void ByteFallbackRoundTripsCharactersOutsideTheVocabulary()
    {
        var t = TokenizerVectorTests.For("llama-spm");
        string text = "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ᚠᛇᚻ 🧬";
        var ids = t.Tokenize(text, addSpecial: false);
        Assert.Contains(ids, id => (t.Vocabulary.AttributesOf(id) & TokenAttributes.Byte) != 0);
        Assert.Equal(text, t.Detokenize(ids));
    }

    [Fact]
    public void StreamingDecoderNeverEmitsBrokenCharacters()
    {
        var t = TokenizerVectorTests.For("llama-bpe");
        string text = "Emoji 👩‍👩‍👧‍👦 and 漢字 and 🦙🦙 mixed";
        var ids = t.Tokenize(text, addSpecial: false);
        var decoder = new Utf8StreamDecoder();
        var sb = new StringBuilder();
        bool sawHeldBack = false;
        foreach (int id in ids)
        {
            var piece = t.TokenToPiece(id);
            string chunk = decoder.Push(piece);
            if (chunk.Length == 0 && piece.Length > 0) sawHeldBack = true;
            foreach (char c in chunk) Assert.NotEqual('\uFFFD', c);
            if (chunk.Length > 0) Assert.False(char.IsHighSurrogate(chunk[^1]), "a chunk ended inside a surrogate pair");
            sb.Append(chunk);
        }
        sb.Append(decoder.Flush());
        Assert.True(sawHeldBack, "no token split a character; the test lost its point");
        Assert.Equal(text, sb.ToString());
    }

    [Fact]
    public void StreamingDecoderFlushesAnIncompleteTailAsReplacement()
    {
        var decoder = new Utf8StreamDecoder();
        Assert.Equal("a", decoder.Push([(byte)'a', 0xF0, 0x9F]));
        Assert.Equal("\uFFFD", decoder.Flush());
        Assert.Equal("x\uFFFDy", new Utf8StreamDecoder().Push([(byte)'x', 0xFF, (byte)'y']));
    }

    [Fact]
    public void UnknownPreTokenizerFallsBackWithAWarning()
    {
        using var file = GgufFile.Open(VocabTestVectors.Model("gpt-2"));
        var metadata = new GgufMetadata();
        foreach (var (k, v) in file.Metadata) metadata.Set(k, v);
        metadata.Set("tokenizer.ggml.pre", GgufValue.FromString("no-such-pretokenizer"));
        var vocabulary = Vocabulary.FromGguf(metadata);
        Assert.Contains(vocabulary.Warnings, w => w.Contains("no-such-pretokenizer"));
        var ids = new Tokenizer(vocabulary).Tokenize("Hello world, 12345!", addSpecial: false);
        Assert.NotEmpty(ids);
    }

    [Fact]
    public void MissingOrBrokenTokenizerMetadataIsAClearError()
    {
        var m = new GgufMetadata();
        Assert.Contains("tokenizer.ggml.model", Assert.Throws<InvalidDataException>(() => Vocabulary.FromGguf(m)).Message);
        m.Set("tokenizer.ggml.model", GgufValue.FromString("t5"));
        Assert.Contains("t5", Assert.Throws<InvalidDataException>(() => Vocabulary.FromGguf(m)).Message);
        m.Set("tokenizer.ggml.model", GgufValue.FromString("gpt2"));
        m.Set("tokenizer.ggml.tokens", GgufValue.FromArray(GgufArray.FromStrings(["a", "b"])));
        Assert.Contains("merges", Assert.Throws<InvalidDataException>(() => Vocabulary.FromGguf(m)).Message);
    }

    [Fact]
    public void CleanSpacesFollowsLlamaCpp()
    {
        var t = TokenizerVectorTests.For("gpt-2");
        var ids = t.Tokenize("Hello , world ! I 'm sure it 's fine . He said ' yes ' ' no '", addSpecial: false);
        Assert.Equal("Hello, world! I'm sure it's fine. He said'yes'' no '", t.Detokenize(ids));
    }
}
