using SharpInfer.Sampling;

namespace SharpInfer.Inference;

/// <summary>Why generation ended.</summary>
public enum StopReason
{
    /// <summary>The model produced an end-of-generation token.</summary>
    EndOfGeneration,
    /// <summary>A stop string appeared.</summary>
    StopString,
    /// <summary>The requested number of tokens was generated.</summary>
    TokenLimit,
    /// <summary>The KV cache was full and context shifting was off.</summary>
    ContextFull,
    /// <summary>The caller cancelled.</summary>
    Cancelled,
}

/// <summary>How to generate a continuation.</summary>
public sealed record GenerationOptions
{
    /// <summary>Tokens to generate at most (−1: until end of generation, a stop string or a full context).</summary>
    public int MaxTokens { get; init; } = -1;

    /// <summary>The sampler chain.</summary>
    public SamplingOptions Sampling { get; init; } = new();

    /// <summary>Generation stops when any of these appears (the stop string itself is not emitted).</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Stop at end-of-generation tokens (false: keep going until another condition).</summary>
    public bool StopAtEndOfGeneration { get; init; } = true;

    /// <summary>When the cache is full, discard part of the context and continue (off by default, like llama.cpp).</summary>
    public bool ContextShift { get; init; }

    /// <summary>Tokens at the start that a context shift never discards, BOS included (−1: the whole prompt).</summary>
    public int Keep { get; init; }

    /// <summary>Fraction of the shiftable tokens discarded at each context shift.</summary>
    public double DiscardFraction { get; init; } = 0.5;

    /// <summary>Add BOS/EOS as the model asks when tokenizing the prompt.</summary>
    public bool AddSpecial { get; init; } = true;

    /// <summary>Turn control-token text in the prompt into control tokens.</summary>
    public bool ParseSpecial { get; init; } = true;

    /// <summary>The sequence id to generate in.</summary>
    public int Sequence { get; init; }

    /// <summary>
    /// A prompt cache file: when it holds a state whose tokens share a prefix with this prompt, that prefix is restored
    /// instead of evaluated; after the prompt is evaluated the file is (re)written. Like llama.cpp's --prompt-cache.
    /// </summary>
    public string? PromptCachePath { get; init; }

    /// <summary>
    /// The tokens <see cref="Sequence"/> already holds in the KV cache, from position 0 (what an earlier generation
    /// left there). Generation keeps their longest common prefix with the prompt, removes the rest from the cache and
    /// evaluates only the remainder of the prompt (always at least its last token, whose logits it needs). A prefix a
    /// sliding-window cache no longer covers is evaluated again. Null: the sequence's content is extended as is.
    /// </summary>
    public IReadOnlyList<int>? CachedTokens { get; init; }
}

/// <summary>Durations and rates of one generation.</summary>
public sealed record GenerationTimings(double PromptMs, int PromptTokens, double GenerationMs, int GeneratedTokens)
{
    /// <summary>Prompt tokens per second.</summary>
    public double PromptTokensPerSecond => PromptMs > 0 ? PromptTokens / (PromptMs / 1000) : 0;

    /// <summary>Generated tokens per second.</summary>
    public double GenerationTokensPerSecond => GenerationMs > 0 ? GeneratedTokens / (GenerationMs / 1000) : 0;
}

/// <summary>Everything a generation produced.</summary>
public sealed record GenerationResult(
    int[] PromptTokens,
    int[] GeneratedTokens,
    string Text,
    StopReason StopReason,
    GenerationTimings Timings,
    int ContextShifts,
    ulong Seed)
{
    /// <summary>Prompt tokens restored from a prompt cache instead of evaluated.</summary>
    public int PromptTokensReused { get; init; }
}
