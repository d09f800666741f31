using System.Text.Json.Nodes;
using SharpInfer.Chat;
using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Sampling;
using SharpInfer.Templates;

namespace SharpInfer.Tests.Chat;

/// <summary>
/// ChatSession on stories260K with the ChatML fallback: each reply equals a fresh greedy generation from the whole
/// rendered conversation, while only the new part of it is evaluated; history, reset, system prompt, a full context,
/// cancellation and template errors.
/// </summary>
public class ChatSessionTests
{
    private static readonly ChatTemplate ChatMl = ChatTemplate.Parse(ChatTemplates.ChatMl);

    private static string Render(IEnumerable<(string Role, string Content)> messages) =>
        ChatMl.Render(new ChatTemplateInput
        {
            Messages = [.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role, ["content"] = m.Content })],
            AddGenerationPrompt = true,
        });

    /// <summary>What a fresh context generates for the rendered conversation (BOS added, as stories260K asks).</summary>
    private static string FreshReply(Model model, string rendered, GenerationOptions options)
    {
        using var context = model.CreateContext(new ContextOptions { ContextSize = 512, Threads = 1 });
        var prompt = model.Tokenizer.Tokenize(rendered, addSpecial: true, parseSpecial: true);
        return new Generator(context).Generate(prompt, options).Text;
    }

    [Fact]
    public void RepliesMatchFreshGenerationAndReuseTheCachedConversation()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 512, Threads = 1 });
        var session = new ChatSession(context, ChatMl) { SystemPrompt = "You tell stories." };
        var options = new GenerationOptions { MaxTokens = 16, Sampling = SamplingOptions.Greedy };

        var first = session.Send("Hello", options);
        string rendered1 = Render([("system", "You tell stories."), ("user", "Hello")]);
        Assert.Equal(FreshReply(model, rendered1, options), first.Text);
        Assert.Equal(0, first.ReusedTokens);
        int firstPrompt = model.Tokenizer.Tokenize(rendered1, true, true).Length;
        Assert.Equal(firstPrompt, first.PromptTokens);
        Assert.Equal(16, first.GeneratedTokens);

        var second = session.Send("Tell me more.", options);
        string rendered2 = Render([("system", "You tell stories."), ("user", "Hello"), ("assistant", first.Text), ("user", "Tell me more.")]);
        Assert.Equal(FreshReply(model, rendered2, options), second.Text);
        Assert.Equal(model.Tokenizer.Tokenize(rendered2, true, true).Length, second.PromptTokens);
        // At least the whole first prompt came from the cache.
        Assert.True(second.ReusedTokens >= firstPrompt, $"reused {second.ReusedTokens} of {second.PromptTokens}, the first prompt was {firstPrompt}");
        Assert.Equal([new ChatMessage("user", "Hello"), new ChatMessage("assistant", first.Text), new ChatMessage("user", "Tell me more."), new ChatMessage("assistant", second.Text)], session.History);
    }

    [Fact]
    public void ResetAndSystemPromptChangesStartOver()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        var session = new ChatSession(context, ChatMl);
        var options = new GenerationOptions { MaxTokens = 8, Sampling = SamplingOptions.Greedy };
        var first = session.Send("Hi", options);
        session.Reset();
        Assert.Empty(session.History);
        Assert.Equal(-1, context.Kv.SeqPosMax(0));
        Assert.Equal(first.Text, session.Send("Hi", options).Text);

        session.Reset();
        session.SystemPrompt = "Be kind.";
        var withSystem = session.Send("Hi", options);
        Assert.Equal(FreshReply(model, Render([("system", "Be kind."), ("user", "Hi")]), options), withSystem.Text);
    }

    [Fact]
    public void AFullContextDropsTheOldestExchangesAndKeepsGoing()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 128, Threads = 1 });
        var session = new ChatSession(context, ChatMl);
        var notices = new List<string>();
        session.Notice += notices.Add;
        var options = new GenerationOptions { MaxTokens = 12, Sampling = SamplingOptions.Greedy };
        ChatReply last = null!;
        for (int i = 0; i < 6; i++) last = session.Send($"Message number {i}.", options);
        Assert.Contains(notices, n => n.StartsWith("the context is full: dropped the 2 oldest messages"));
        Assert.Equal("user", session.History[0].Role);
        Assert.Equal("Message number 5.", session.History[^2].Content);
        Assert.True(session.History.Count < 12);
        // What is left is still a conversation the model continues exactly as a fresh run would.
        var rendered = Render(session.History.Take(session.History.Count - 1).Select(m => (m.Role, m.Content)));
        Assert.Equal(FreshReply(model, rendered, options), last.Text);
        Assert.True(context.Kv.SeqPosMax(0) < 128);
    }

    [Fact]
    public void AReplyThatFillsTheContextGoesOnAfterDroppingOlderMessages()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 128, Threads = 1 });
        // A small reserve, so the last reply starts with the old exchanges still there and runs into the end.
        var session = new ChatSession(context, ChatMl, new ChatSessionOptions { ReplyReserve = 8 });
        var notices = new List<string>();
        session.Notice += notices.Add;
        session.Send("Hi.", new GenerationOptions { MaxTokens = 6, Sampling = SamplingOptions.Greedy });
        session.Send("Go on.", new GenerationOptions { MaxTokens = 6, Sampling = SamplingOptions.Greedy });
        var long_ = session.Send("Tell me a long story.", new GenerationOptions { MaxTokens = 100, Sampling = SamplingOptions.Greedy });
        Assert.Contains("the context is full: dropping the oldest messages and continuing the reply", notices);
        // The reply is longer than the room the context had when it began.
        Assert.True(long_.GeneratedTokens > 128 - long_.PromptTokens, $"{long_.GeneratedTokens} tokens after a {long_.PromptTokens}-token prompt");
        Assert.True(long_.DroppedMessages >= 2);
        Assert.Equal("Tell me a long story.", session.History[0].Content);
        Assert.Equal(long_.Text, session.History[1].Content);
    }

    [Fact]
    public void AMessageLongerThanTheContextIsRefusedAndNotKept()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 64, Threads = 1 });
        var session = new ChatSession(context, ChatMl);
        var e = Assert.Throws<ArgumentException>(() => session.Send(string.Join(' ', Enumerable.Repeat("story", 100)), new GenerationOptions { MaxTokens = 4, Sampling = SamplingOptions.Greedy }));
        Assert.StartsWith("the message does not fit the context", e.Message);
        Assert.Empty(session.History);
    }

    [Fact]
    public void ACancelledReplyKeepsWhatWasSaidAndTheSessionGoesOn()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 256, Threads = 1 });
        var session = new ChatSession(context, ChatMl);
        using var cancel = new CancellationTokenSource();
        int pieces = 0;
        var reply = session.Send("Hello", new GenerationOptions { MaxTokens = 50, Sampling = SamplingOptions.Greedy }, _ => { if (++pieces == 3) cancel.Cancel(); }, cancel.Token);
        Assert.Equal(StopReason.Cancelled, reply.StopReason);
        Assert.True(reply.GeneratedTokens < 50);
        Assert.Equal(reply.Text, session.History[1].Content);
        var next = session.Send("And then?", new GenerationOptions { MaxTokens = 8, Sampling = SamplingOptions.Greedy });
        Assert.Equal(8, next.GeneratedTokens);
    }

    [Fact]
    public void ATemplateThatRefusesTheConversationLeavesTheHistoryAsItWas()
    {
        using var model = Model.Load(SharedData.Stories);
        using var context = model.CreateContext(new ContextOptions { ContextSize = 128, Threads = 1 });
        var strict = ChatTemplate.Parse("{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ m.content }}\n{% endfor %}");
        var session = new ChatSession(context, strict);
        session.Send("Hello", new GenerationOptions { MaxTokens = 4, Sampling = SamplingOptions.Greedy });
        session.SystemPrompt = "Be brief.";
        var e = Assert.Throws<TemplateException>(() => session.Send("Again", new GenerationOptions { MaxTokens = 4, Sampling = SamplingOptions.Greedy }));
        Assert.Equal("System role not supported", e.Message);
        Assert.Equal(2, session.History.Count);
    }
}
