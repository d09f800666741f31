namespace SharpInfer.Inference;

/// <summary>How a <see cref="GenerationScheduler"/> shares its context between requests.</summary>
public sealed record SchedulerOptions
{
    /// <summary>
    /// Sequences decoded together at most (0: the context's <see cref="ContextOptions.MaxSequences"/> − 3, since the
    /// scheduler keeps three sequence ids for itself: the prefix cache's holder, a scratch id for slot files and one
    /// for embeddings). A
    /// request with n choices runs n sequences; requests beyond this wait in the queue.
    /// </summary>
    public int MaxRunningSequences { get; init; }

    /// <summary>
    /// Requests that may wait beyond <see cref="MaxRunningSequences"/> in flight: a request submitted while that many
    /// more than the running limit are unfinished is refused with <see cref="SchedulerUnavailableException"/>.
    /// </summary>
    public int MaxQueuedRequests { get; init; } = 64;

    /// <summary>
    /// Tokens evaluated per step at most (0: the context's micro-batch size): every running sequence's next token,
    /// then as many waiting prompt tokens as fit (chunked prefill).
    /// </summary>
    public int StepTokens { get; init; }

    /// <summary>Keep evaluated prefixes for later requests (on models whose cache is one group without sliding windows).</summary>
    public bool PrefixCache { get; init; } = true;

    /// <summary>Check the prefix cache's and every sequence's cell accounting after every step (tests; slow).</summary>
    internal bool VerifyEveryStep { get; init; }

    /// <summary>A pause after every step (tests that need a generation slow enough to interrupt by hand).</summary>
    internal TimeSpan StepDelay { get; init; }
}

/// <summary>A snapshot of a scheduler's counters (totals since it started).</summary>
/// <param name="RequestsRunning">Requests holding sequences now.</param>
/// <param name="RequestsQueued">Requests waiting for sequences or cells.</param>
/// <param name="RequestsTotal">Requests accepted.</param>
/// <param name="PromptTokensTotal">Prompt tokens of accepted requests.</param>
/// <param name="GeneratedTokensTotal">Tokens generated.</param>
/// <param name="KvCellsUsed">Cells in use, by running sequences or the prefix cache.</param>
/// <param name="KvCellsTotal">Cells of the cache.</param>
/// <param name="PrefixCacheCells">Cells the prefix cache owns (those no running sequence shares can be reclaimed).</param>
/// <param name="PrefixCacheHitTokensTotal">Prompt tokens taken from the prefix cache.</param>
/// <param name="PreemptionsTotal">Times a request was paused to make room.</param>
/// <param name="StepsTotal">Evaluation steps run.</param>
public sealed record SchedulerMetrics(
    int RequestsRunning,
    int RequestsQueued,
    long RequestsTotal,
    long PromptTokensTotal,
    long GeneratedTokensTotal,
    int KvCellsUsed,
    int KvCellsTotal,
    int PrefixCacheCells,
    long PrefixCacheHitTokensTotal,
    long PreemptionsTotal,
    long StepsTotal);
