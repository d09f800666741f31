using SharpInfer.Sampling;

namespace SharpInfer.Inference;

/// <summary>One request to a <see cref="GenerationScheduler"/>: a tokenized prompt and how to continue it.</summary>
public sealed record GenerationRequest
{
    /// <summary>The prompt, already tokenized (BOS included if the model wants one).</summary>
    public required IReadOnlyList<int> PromptTokens { get; init; }

    /// <summary>Continuations of the prompt (OpenAI's <c>n</c>): the prompt is evaluated once and its cells shared.</summary>
    public int Choices { get; init; } = 1;

    /// <summary>Tokens to generate at most per choice (−1: until end of generation, a stop string or a full context).</summary>
    public int MaxTokens { get; init; } = -1;

    /// <summary>The sampler chain. With a seed, choice i samples with seed + i.</summary>
    public SamplingOptions Sampling { get; init; } = new();

    /// <summary>A choice stops when any of these appears in its text (the stop string itself is not emitted).</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Stop at end-of-generation tokens (false: keep going until another condition).</summary>
    public bool StopAtEndOfGeneration { get; init; } = true;

    /// <summary>
    /// Log-probabilities with each token: −1 none, 0 the chosen token's only, k the chosen token's and the k most
    /// likely tokens' (at most <see cref="TokenLogprobs.MaxTop"/>).
    /// </summary>
    public int TopLogprobs { get; init; } = -1;

    /// <summary>Take the longest cached prefix of the prompt from the prefix cache (when the scheduler has one).</summary>
    public bool UsePrefixCache { get; init; } = true;
}

/// <summary>Something a request produced; see the derived records.</summary>
public abstract record GenerationEvent;

/// <summary>
/// A choice generated a token. <see cref="Text"/> is the text it makes safe to emit now (empty while a UTF-8
/// character or a possible stop string is incomplete; held-back text comes with a later event).
/// </summary>
public sealed record TokenGenerated(int Choice, int Token, string Text, TokenLogprobs? Logprobs) : GenerationEvent;

/// <summary>A choice ended; <see cref="Text"/> is the last text it had held back (often empty).</summary>
public sealed record ChoiceFinished(int Choice, StopReason Reason, string Text) : GenerationEvent;

/// <summary>The request ended: every choice has finished. Always the last event.</summary>
public sealed record GenerationCompleted(GenerationUsage Usage) : GenerationEvent;

/// <summary>Token counts and times of a request.</summary>
/// <param name="PromptTokens">Prompt tokens.</param>
/// <param name="CachedPromptTokens">Prompt tokens taken from the prefix cache instead of evaluated.</param>
/// <param name="CompletionTokens">Tokens generated over all choices (end-of-generation tokens included).</param>
/// <param name="QueuedMs">Milliseconds between submission and admission.</param>
/// <param name="TimeToFirstTokenMs">Milliseconds between submission and the first generated token (0 when none).</param>
/// <param name="TotalMs">Milliseconds between submission and completion.</param>
/// <param name="Preemptions">Times the request was paused to make room for others and resumed later.</param>
public sealed record GenerationUsage(int PromptTokens, int CachedPromptTokens, int CompletionTokens, double QueuedMs, double TimeToFirstTokenMs, double TotalMs, int Preemptions)
{
    /// <summary>Prompt plus completion tokens.</summary>
    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>The request was not queued: the queue is full, or the scheduler is shutting down.</summary>
public sealed class SchedulerUnavailableException(string message, bool shuttingDown) : Exception(message)
{
    /// <summary>True when the scheduler no longer accepts requests at all (false: try again later).</summary>
    public bool ShuttingDown { get; } = shuttingDown;
}
