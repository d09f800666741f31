using SharpInfer.Models;

namespace SharpInfer.Tests.Tokenization;

/// <summary>The one rule for rendered chat prompts: BOS as the model asks, once, whether or not the template wrote it.</summary>
public class ChatPromptTokenizationTests
{
    [Fact]
    public void OneBosWhetherOrNotTheTemplateWroteIt()
    {
        using var model = Model.Load(SharedData.Stories);
        var tokenizer = model.Tokenizer;
        int bos = tokenizer.Vocabulary.Bos;
        Assert.True(tokenizer.Vocabulary.AddBos);
        var plain = tokenizer.Tokenize("Once upon a time", addSpecial: true, parseSpecial: true);
        Assert.Equal(plain, tokenizer.TokenizeChatPrompt("Once upon a time"));
        // The template's own BOS text: tokenized as llama-server does it would start with two; the rule keeps one.
        var written = tokenizer.TokenizeChatPrompt(tokenizer.Vocabulary.TokenText(bos) + "Once upon a time");
        Assert.Equal(bos, written[0]);
        Assert.NotEqual(bos, written[1]);
        Assert.Equal(new[] { bos, bos }, tokenizer.Tokenize(tokenizer.Vocabulary.TokenText(bos) + "Once upon a time", addSpecial: true, parseSpecial: true)[..2]);
    }
}
