using System.Text;
using System.Text.Json.Nodes;
using SharpInfer.Inference;
using SharpInfer.Templates;

namespace SharpInfer.Chat;

/// <summary>
/// A conversation with a model whose history stays in the KV cache: each turn renders the whole conversation with
/// the chat template, keeps the cached tokens it shares with the new rendering and evaluates only the rest. When the
/// context fills, the oldest exchanges are dropped and the conversation re-rendered (a reply that fills it goes on
/// after the drop). Not thread-safe, like the context it uses.
/// </summary>
public sealed class ChatSession
{
    private readonly InferenceContext _context;
    private readonly ChatTemplate _template;
    private readonly ChatSessionOptions _options;
    private readonly Generator _generator;
    private readonly List<ChatMessage> _history = [];
    private List<int> _cached = [];

    /// <summary>Starts an empty conversation in <see cref="ChatSessionOptions.Sequence"/> (whatever the sequence held is removed).</summary>
    public ChatSession(InferenceContext context, ChatTemplate template, ChatSessionOptions? options = null)
    {
        _context = context;
        _template = template;
        _options = options ?? new ChatSessionOptions();
        _generator = new Generator(context);
        _context.Kv.SeqRemove(_options.Sequence, 0, -1);
    }

    /// <summary>The system message that opens the rendered conversation (null or empty: none).</summary>
    public string? SystemPrompt { get; set; }

    /// <summary>The user and assistant messages so far (after any dropped for room).</summary>
    public IReadOnlyList<ChatMessage> History => _history;

    /// <summary>Things the user should know: messages dropped to make room, a reply continued after a full context.</summary>
    public event Action<string>? Notice;

    /// <summary>Forgets the conversation (the system prompt stays) and empties the cache sequence.</summary>
    public void Reset()
    {
        _history.Clear();
        _cached = [];
        _context.Kv.SeqRemove(_options.Sequence, 0, -1);
    }

    /// <summary>
    /// Adds a user message and generates the reply, streaming its text to <paramref name="onText"/>. A cancelled reply
    /// keeps what was generated. If rendering fails (a template that refuses the conversation) the message is not
    /// kept and the <see cref="TemplateException"/> propagates.
    /// </summary>
    public ChatReply Send(string message, GenerationOptions generation, Action<string>? onText = null, CancellationToken cancellation = default)
    {
        _history.Add(new ChatMessage("user", message));
        try
        {
            return Reply(generation, onText, cancellation);
        }
        catch
        {
            _history.RemoveAt(_history.Count - 1);
            throw;
        }
    }

    private ChatReply Reply(GenerationOptions generation, Action<string>? onText, CancellationToken cancellation)
    {
        int capacity = _context.Kv.Main.StreamOf(_options.Sequence).Cells.Size;
        var text = new StringBuilder();
        var generated = new List<int>();
        int dropped = 0, promptTokens = 0;
        int? reused = null;
        double promptMs = 0, generationMs = 0;
        var reason = StopReason.ContextFull;
        while (RenderFitting(capacity, generated.Count, generation.MaxTokens, ref dropped) is { } rendered)
        {
            int[] prompt = [.. rendered, .. generated];
            int left = generation.MaxTokens < 0 ? -1 : generation.MaxTokens - generated.Count;
            var result = Generate(prompt, generation with { Sequence = _options.Sequence, CachedTokens = _cached, MaxTokens = left, ContextShift = false }, onText, cancellation);
            text.Append(result.Text);
            generated.AddRange(result.StopReason == StopReason.EndOfGeneration ? result.GeneratedTokens[..^1] : result.GeneratedTokens);
            if (reused is null)
            {
                promptTokens = prompt.Length;
                reused = result.PromptTokensReused;
            }
            promptMs += result.Timings.PromptMs;
            generationMs += result.Timings.GenerationMs;
            reason = result.StopReason;
            bool limitReached = left >= 0 && result.GeneratedTokens.Length >= left;
            if (reason != StopReason.ContextFull || !CanDrop() || limitReached) break;
            Notice?.Invoke("the context is full: dropping the oldest messages and continuing the reply");
        }
        _history.Add(new ChatMessage("assistant", text.ToString()));
        return new ChatReply(text.ToString(), reason, promptTokens, reused ?? 0, generated.Count, dropped, promptMs, generationMs);
    }

    /// <summary>
    /// Runs the generator and records which tokens the sequence now holds. If it fails midway (cancelled during the
    /// prompt, say) the sequence's content is unknown, so it is emptied: the next turn evaluates everything.
    /// </summary>
    private GenerationResult Generate(int[] prompt, GenerationOptions options, Action<string>? onText, CancellationToken cancellation)
    {
        GenerationResult result;
        try
        {
            result = _generator.Generate(prompt, options, onText, cancellation);
        }
        catch
        {
            _cached = [];
            _context.Kv.SeqRemove(_options.Sequence, 0, -1);
            throw;
        }
        int held = _context.Kv.SeqPosMax(_options.Sequence) + 1;
        _cached = [.. prompt.Concat(result.GeneratedTokens).Take(held)];
        return result;
    }

    /// <summary>Whether an older exchange can still go (the message being answered always stays).</summary>
    private bool CanDrop() => _history.Count > 1;

    /// <summary>
    /// The rendered conversation's tokens, after dropping the oldest exchanges until they, the reply so far and a
    /// reserve for the rest of the reply fit the context. When even the latest message and the reply so far leave no
    /// room: before the reply an error, during it null (the reply ends there).
    /// </summary>
    private int[]? RenderFitting(int capacity, int replySoFar, int maxTokens, ref int dropped)
    {
        int reserve = _options.ReplyReserve > 0 ? _options.ReplyReserve : maxTokens > 0 ? Math.Min(maxTokens, capacity / 2) : capacity / 4;
        int droppedNow = 0;
        try
        {
            while (true)
            {
                var tokens = Tokenize(Render());
                int needed = tokens.Length + replySoFar;
                if (needed + reserve <= capacity || (!CanDrop() && needed < capacity)) return tokens;
                if (!CanDrop())
                {
                    if (replySoFar > 0) return null;
                    throw new ArgumentException($"the message does not fit the context: the conversation is {needed} tokens and the context holds {capacity}; raise -c or shorten it");
                }
                // Drop a whole exchange (user, then assistant) so roles still alternate.
                int count = _history.Count > 2 && _history[1].Role == "assistant" ? 2 : 1;
                _history.RemoveRange(0, count);
                droppedNow += count;
            }
        }
        finally
        {
            if (droppedNow > 0) Notice?.Invoke($"the context is full: dropped the {droppedNow} oldest message{(droppedNow == 1 ? "" : "s")}");
            dropped += droppedNow;
        }
    }

    private string Render()
    {
        var messages = new JsonArray();
        if (!string.IsNullOrEmpty(SystemPrompt)) messages.Add(Message("system", SystemPrompt));
        foreach (var m in _history) messages.Add(Message(m.Role, m.Content));
        var vocabulary = _context.Model.Tokenizer.Vocabulary;
        return _template.Render(new ChatTemplateInput
        {
            Messages = messages,
            AddGenerationPrompt = true,
            BosToken = TokenText(vocabulary.Bos),
            EosToken = TokenText(vocabulary.Eos),
            Now = _options.Now,
        });
    }

    private static JsonObject Message(string role, string content) => new() { ["role"] = role, ["content"] = content };

    private string TokenText(int id) => id < 0 ? "" : _context.Model.Tokenizer.Vocabulary.TokenText(id);

    /// <summary>Tokenizes a rendering by the one rule chat prompts follow (<see cref="Tokenization.Tokenizer.TokenizeChatPrompt"/>).</summary>
    private int[] Tokenize(string text) => _context.Model.Tokenizer.TokenizeChatPrompt(text);
}
