using SharpInfer.Tokenization;

namespace SharpInfer.Tests.Tokenization;

/// <summary>
/// Special and added tokens in text, on real vocabularies, with the ids llama.cpp 0.7.0 gives (llama_tokenize,
/// add_special false; the broader table is in LlamaCppReference). These are the cases users meet first.
/// </summary>
public class SpecialTokenTests
{
    [Fact]
    public void Phi3EndOfSentenceIsAddedButAlsoControlSoItNeedsParseSpecial()
    {
        var t = TokenizerVectorTests.For("phi-3");
        int eos = t.Vocabulary.Find("</s>");
        // The GGUF types </s> user-defined; its text marks it end-of-generation, which makes it control too.
        Assert.Equal(TokenAttributes.UserDefined | TokenAttributes.Control, t.Vocabulary.AttributesOf(eos) & (TokenAttributes.UserDefined | TokenAttributes.Control));
        Assert.Equal([263, 1533, 29879, 29958, 289], t.Tokenize("a </s> b", addSpecial: false, parseSpecial: false));
        // Parsed, it swallows the space after it (rstrip) but not the one before it.
        Assert.Equal([263, 29871, 2, 289], t.Tokenize("a </s> b", addSpecial: false, parseSpecial: true));
    }

    [Fact]
    public void Phi3ChatTokensSwallowTheWhitespaceAfterThem()
    {
        var t = TokenizerVectorTests.For("phi-3");
        const string text = "<|user|>\n Hi <|end|>\n<|assistant|>";
        Assert.Equal([32010, 6324, 29871, 32007, 32001], t.Tokenize(text, addSpecial: false, parseSpecial: true));
        Assert.Equal([529, 29989, 1792, 29989, 29958, 13, 6324, 529, 29989, 355, 29989, 29958, 13, 29966, 29989, 465, 22137, 29989, 29958],
            t.Tokenize(text, addSpecial: false, parseSpecial: false));
    }

    [Fact]
    public void Phi3RstripComesFromTheModelNameAsInLlamaCpp()
    {
        var renamed = new Tokenizer(Vocabulary.FromGguf(WithName("phi-3", "Llama")));
        Assert.Equal(TokenAttributes.None, renamed.Vocabulary.AttributesOf(renamed.Vocabulary.Find("<|end|>")) & TokenAttributes.RStrip);
        var phi3 = TokenizerVectorTests.For("phi-3").Vocabulary;
        Assert.NotEqual(TokenAttributes.None, phi3.AttributesOf(phi3.Find("<|end|>")) & TokenAttributes.RStrip);
        Assert.Equal(TokenAttributes.None, phi3.AttributesOf(phi3.Find("<|endoftext|>")) & TokenAttributes.RStrip);
        Assert.Equal(TokenAttributes.None, phi3.AttributesOf(phi3.Find("<s>")) & TokenAttributes.RStrip);
    }

    [Fact]
    public void UserDefinedTokensAreMatchedWithoutParseSpecialControlTokensOnlyWithIt()
    {
        var t = TokenizerVectorTests.For("deepseek-coder");
        // <|User|> is user-defined: always a token.
        Assert.Equal([32019, 2856], t.Tokenize("<|User|> hi", addSpecial: false, parseSpecial: false));
        Assert.Equal([32019, 2856], t.Tokenize("<|User|> hi", addSpecial: false, parseSpecial: true));
        // <｜begin▁of▁sentence｜> is control: plain text unless special tokens are parsed.
        Assert.Equal([1013, 169, 121, 237, 946, 11028, 210, 990, 11028, 210, 18119, 720, 169, 121, 237, 29, 87],
            t.Tokenize(" <｜begin▁of▁sentence｜>x", addSpecial: false, parseSpecial: false));
        Assert.Equal([207, 32013, 87], t.Tokenize(" <｜begin▁of▁sentence｜>x", addSpecial: false, parseSpecial: true));
    }

    private static SharpInfer.Gguf.GgufMetadata WithName(string family, string name)
    {
        using var file = SharpInfer.Gguf.GgufFile.Open(VocabTestVectors.Model(family));
        var metadata = new SharpInfer.Gguf.GgufMetadata();
        foreach (var (key, value) in file.Metadata) metadata.Set(key, value);
        metadata.Set("general.name", SharpInfer.Gguf.GgufValue.FromString(name));
        return metadata;
    }
}
