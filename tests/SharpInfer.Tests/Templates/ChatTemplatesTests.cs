using System.Text.Json.Nodes;
using SharpInfer.Gguf;
using SharpInfer.Templates;

namespace SharpInfer.Tests.Templates;

/// <summary>Where the template comes from: the GGUF's tokenizer.chat_template, an override file, or ChatML with a warning.</summary>
public class ChatTemplatesTests
{
    [Fact]
    public void ChatMlRendersTheDocumentedFormat()
    {
        // Expected strings from Jinja2 3.1 rendering the same template text.
        var messages = JsonNode.Parse("""
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi\nthere"},
             {"role": "assistant", "content": "Hello."},
             {"role": "user", "content": [{"type": "text", "text": "Look: "}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "a cat"}]},
             {"role": "assistant", "content": null, "tool_calls": []}]
            """)!.AsArray();
        var template = ChatTemplate.Parse(ChatTemplates.ChatMl);
        Assert.Equal(
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi\nthere<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n" +
            "<|im_start|>user\nLook: a cat<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n<|im_start|>assistant\n",
            template.Render(new ChatTemplateInput { Messages = messages, AddGenerationPrompt = true }));
        Assert.Equal(
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi\nthere<|im_end|>\n",
            template.Render(new ChatTemplateInput { Messages = [.. messages.Take(2).Select(m => m!.DeepClone())] }));
    }

    [Fact]
    public void AModelWithoutATemplateGetsChatMlAndAWarning()
    {
        using var gguf = GgufFile.Open(SharedData.Stories);
        var warnings = new List<string>();
        var template = ChatTemplates.Resolve(gguf.Metadata, null, warnings.Add);
        Assert.Equal(ChatTemplates.ChatMl, template.Source);
        Assert.Equal(["the model has no chat template (tokenizer.chat_template); using ChatML"], warnings);
    }

    [Fact]
    public void TheModelsOwnTemplateIsUsed()
    {
        string source = File.ReadAllText(SharedData.File("templates/google-gemma-2-2b-it.jinja"));
        var metadata = new GgufMetadata();
        metadata.TryAdd(ChatTemplates.MetadataKey, GgufValue.FromString(source));
        var warnings = new List<string>();
        Assert.Equal(source, ChatTemplates.Resolve(metadata, null, warnings.Add).Source);
        Assert.Empty(warnings);
    }

    [Fact]
    public void AnOverrideFileReplacesTheModelsTemplate()
    {
        var metadata = new GgufMetadata();
        metadata.TryAdd(ChatTemplates.MetadataKey, GgufValue.FromString("{{ 'model' }}"));
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "{{ 'override' }}");
            var template = ChatTemplates.Resolve(metadata, path, null);
            Assert.Equal("override", template.Render(new ChatTemplateInput { Messages = [] }));

            File.WriteAllText(path, "line 1\n{% if %}");
            var e = Assert.Throws<TemplateException>(() => ChatTemplates.Resolve(metadata, path, null));
            Assert.Equal($"{path}: expected an expression, got end of statement block (line 2)", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ABrokenModelTemplateFallsBackToChatMlWithAWarning()
    {
        var metadata = new GgufMetadata();
        metadata.TryAdd(ChatTemplates.MetadataKey, GgufValue.FromString("{% for m in messages %}"));
        var warnings = new List<string>();
        Assert.Equal(ChatTemplates.ChatMl, ChatTemplates.Resolve(metadata, null, warnings.Add).Source);
        Assert.Single(warnings);
        Assert.StartsWith("the model's chat template cannot be used (unexpected end of template: the 'for' block", warnings[0]);
        Assert.EndsWith("; falling back to ChatML", warnings[0]);
    }
}
