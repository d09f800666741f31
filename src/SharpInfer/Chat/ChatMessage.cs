namespace SharpInfer.Chat;

/// <summary>One message of a conversation.</summary>
public sealed record ChatMessage(string Role, string Content);

/// <summary>How a <see cref="ChatSession"/> renders and tokenizes.</summary>
public sealed record ChatSessionOptions
{
    /// <summary>The sequence of the context the conversation lives in.</summary>
    public int Sequence { get; init; }

    /// <summary>What <c>strftime_now</c> gives the template (null: the current time).</summary>
    public DateTimeOffset? Now { get; init; }

    /// <summary>
    /// Tokens kept free for the reply when old messages must go to make room (0: a quarter of the context, or the
    /// token limit of the reply when that is smaller, at most half the context).
    /// </summary>
    public int ReplyReserve { get; init; }
}

/// <summary>
/// What one turn produced: the reply, why it ended, the conversation's tokens when the reply began and how many of
/// them came from the cache, the reply's tokens, the messages dropped to make room, and the time spent on prompts and
/// on generating (a reply that went on after a full context counts both parts).
/// </summary>
public sealed record ChatReply(
    string Text,
    Inference.StopReason StopReason,
    int PromptTokens,
    int ReusedTokens,
    int GeneratedTokens,
    int DroppedMessages,
    double PromptMs,
    double GenerationMs);
