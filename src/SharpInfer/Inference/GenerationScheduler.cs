using System.Collections.Concurrent;
using System.Diagnostics;
using SharpInfer.KvCache;
using SharpInfer.Sampling;

namespace SharpInfer.Inference;

/// <summary>
/// Continuous batching over one <see cref="InferenceContext"/>: many callers submit requests, one engine thread owns
/// the context. Each step evaluates the next token of every running sequence and, within a token budget, chunks of
/// waiting prompts, all in one batch; requests join and leave between steps, and a finished or cancelled sequence
/// releases its cells at once. Evaluated prefixes stay in a <see cref="KvCache.PrefixCache"/>, so a request that
/// starts like an earlier one shares those cells and evaluates only the rest; when cells run out, unused cached
/// prefixes are evicted (least recently used first), then the newest request is paused and resumed later.
/// <para>
/// Sequence ids: 0..<see cref="MaxRunningSequences"/> − 1 run choices; the next id holds the prefix cache's cells,
/// the one after is scratch for slot files, the last computes embeddings (<see cref="EmbedAsync"/>). The context
/// must be unified with at least <see cref="MaxRunningSequences"/> + 3 sequences (<see cref="RequiredSequences"/>). While the scheduler runs, nothing
/// else may use the context.
/// </para>
/// </summary>
public sealed partial class GenerationScheduler : IAsyncDisposable
{
    private readonly InferenceContext _context;
    private readonly KvCacheSet _kv;
    private readonly PrefixCache? _prefixCache;
    private readonly int _holderSeq, _scratchSeq, _embeddingSeq, _stepTokens, _maxQueued;
    private readonly bool _verify;
    private readonly TimeSpan _stepDelay;
    private readonly ConcurrentQueue<ScheduledRequest> _incoming = new();
    private readonly ConcurrentQueue<(Action Run, Action<Exception> Refuse)> _jobs = new();
    private readonly AutoResetEvent _wake = new(false);
    private readonly Thread _engine;
    private readonly TaskCompletionSource _engineExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly LinkedList<ScheduledRequest> _waiting = new();
    private readonly List<ScheduledRequest> _running = new();
    private readonly Stack<int> _freeSeqs = new();
    private readonly ScheduledChoice?[] _slotOwner;
    private readonly int[]?[] _slotTokens;
    private int _queued, _inFlight;
    private volatile bool _shuttingDown, _cancelAll, _stop, _exited;

    // Counters: written by the engine thread, read by anyone through Metrics.
    private long _requestsTotal, _promptTokensTotal, _generatedTotal, _prefixHitsTotal, _preemptionsTotal, _steps;
    private int _runningCount, _cellsUsed, _prefixCells;

    /// <summary>Sequence ids a context needs for a scheduler that runs <paramref name="maxRunningSequences"/> sequences.</summary>
    public static int RequiredSequences(int maxRunningSequences) => maxRunningSequences + 3;

    /// <summary>Starts the engine thread on <paramref name="context"/> (which the caller keeps owning and disposes after this).</summary>
    public GenerationScheduler(InferenceContext context, SchedulerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        options ??= new SchedulerOptions();
        _context = context;
        _kv = context.Kv;
        if (!_kv.Options.Unified) throw new ArgumentException("the scheduler needs a unified KV cache (one pool shared by all sequences)");
        int sequences = context.Options.MaxSequences;
        MaxRunningSequences = options.MaxRunningSequences > 0 ? options.MaxRunningSequences : sequences - 3;
        if (MaxRunningSequences < 1 || RequiredSequences(MaxRunningSequences) > sequences)
        {
            throw new ArgumentException($"the context has {sequences} sequence ids; a scheduler running {Math.Max(1, MaxRunningSequences)} sequences needs {RequiredSequences(Math.Max(1, MaxRunningSequences))}");
        }
        if (options.MaxQueuedRequests < 0) throw new ArgumentException($"the queue limit must not be negative (got {options.MaxQueuedRequests})");
        if (options.StepTokens < 0) throw new ArgumentException($"the step token budget must not be negative (got {options.StepTokens})");
        _stepTokens = options.StepTokens > 0 ? options.StepTokens : context.Options.MicroBatchSize;
        _maxQueued = options.MaxQueuedRequests;
        _verify = options.VerifyEveryStep;
        _stepDelay = options.StepDelay;
        _holderSeq = MaxRunningSequences;
        _scratchSeq = MaxRunningSequences + 1;
        _embeddingSeq = MaxRunningSequences + 2;
        if (_kv.Used != 0) throw new ArgumentException("the scheduler needs an empty KV cache");
        if (options.PrefixCache && _kv.Groups.Count == 1) _prefixCache = new PrefixCache(_kv.Main.Stream(0).Cells, _holderSeq);
        for (int s = MaxRunningSequences - 1; s >= 0; s--) _freeSeqs.Push(s);
        _slotOwner = new ScheduledChoice?[MaxRunningSequences];
        _slotTokens = new int[]?[MaxRunningSequences];
        _batch = new Batch(Math.Max(_stepTokens, MaxRunningSequences) + MaxRunningSequences);
        _cellsUsed = _kv.Used;
        _engine = new Thread(RunEngine) { IsBackground = true, Name = "sharpinfer-scheduler" };
        _engine.Start();
    }

    /// <summary>The context the scheduler runs on.</summary>
    public InferenceContext Context => _context;

    /// <summary>Sequences decoded together at most (also the number of slots).</summary>
    public int MaxRunningSequences { get; }

    /// <summary>Whether evaluated prefixes are kept for later requests (off for caches with sliding-window groups).</summary>
    public bool HasPrefixCache => _prefixCache is not null;

    /// <summary>Cells of the cache: the longest prompt plus generation one sequence can hold.</summary>
    public int Capacity => _kv.Capacity;

    /// <summary>A snapshot of the counters.</summary>
    public SchedulerMetrics Metrics => new(
        Volatile.Read(ref _runningCount),
        Volatile.Read(ref _queued),
        Interlocked.Read(ref _requestsTotal),
        Interlocked.Read(ref _promptTokensTotal),
        Interlocked.Read(ref _generatedTotal),
        Volatile.Read(ref _cellsUsed),
        _kv.Capacity,
        Volatile.Read(ref _prefixCells),
        Interlocked.Read(ref _prefixHitsTotal),
        Interlocked.Read(ref _preemptionsTotal),
        Interlocked.Read(ref _steps));

    /// <summary>
    /// Queues a request. Throws <see cref="ArgumentException"/> for an invalid one (empty prompt, token outside the
    /// vocabulary, prompt longer than the cache, too many choices, bad sampling settings) and
    /// <see cref="SchedulerUnavailableException"/> when the queue is full or the scheduler is shutting down.
    /// <paramref name="cancellation"/> cancels the request at the next step.
    /// </summary>
    public GenerationStream Submit(GenerationRequest request, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var prompt = Validate(request);
        var r = new ScheduledRequest(request, prompt, i => NewSampler(request, i), Wake);
        if (_shuttingDown) throw new SchedulerUnavailableException("the scheduler is shutting down", shuttingDown: true);
        if (Interlocked.Increment(ref _inFlight) > _maxQueued + MaxRunningSequences)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new SchedulerUnavailableException($"too many requests in flight ({MaxRunningSequences} running and {_maxQueued} queued at most); try again shortly", shuttingDown: false);
        }
        Interlocked.Increment(ref _queued);
        Interlocked.Increment(ref _requestsTotal);
        Interlocked.Add(ref _promptTokensTotal, prompt.Length);
        if (cancellation.CanBeCanceled) r.Registration = cancellation.Register(r.Cancel);
        _incoming.Enqueue(r);
        Wake();
        // Submitted while the engine was stopping for good: nothing will take the request, so refuse it here.
        if (_exited) RefuseIncoming();
        return new GenerationStream(r);
    }

    private int[] Validate(GenerationRequest request)
    {
        var prompt = request.PromptTokens.ToArray();
        if (prompt.Length == 0) throw new ArgumentException("the prompt is empty (no tokens)");
        int vocab = _context.VocabSize;
        foreach (int t in prompt)
        {
            if ((uint)t >= (uint)vocab) throw new ArgumentException($"prompt token {t} is outside the vocabulary (0..{vocab - 1})");
        }
        if (prompt.Length > _kv.Capacity) throw new ArgumentException($"the prompt is {prompt.Length} tokens but the context holds {_kv.Capacity}");
        if (request.Choices < 1 || request.Choices > MaxRunningSequences) throw new ArgumentException($"choices must be 1..{MaxRunningSequences} (got {request.Choices})");
        if (request.MaxTokens < -1) throw new ArgumentException($"the token limit must be -1 or more (got {request.MaxTokens})");
        if (request.TopLogprobs < -1 || request.TopLogprobs > TokenLogprobs.MaxTop) throw new ArgumentException($"top logprobs must be -1..{TokenLogprobs.MaxTop} (got {request.TopLogprobs})");
        request.Sampling.Validate();
        return prompt;
    }

    private Sampler NewSampler(GenerationRequest request, int choice)
    {
        var sampling = request.Sampling.Seed is { } seed ? request.Sampling with { Seed = seed + (ulong)choice } : request.Sampling;
        var sampler = new Sampler(sampling, _context.VocabSize, _kv.Capacity);
        foreach (int t in request.PromptTokens) sampler.Accept(t);
        return sampler;
    }

    private void Wake() => _wake.Set();

    /// <summary>Runs <paramref name="job"/> on the engine thread between two steps (tests use it to hold the engine still).</summary>
    internal Task<T> OnEngineAsync<T>(Func<T> job)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_stop) throw new ObjectDisposedException(nameof(GenerationScheduler));
        _jobs.Enqueue((() =>
        {
            try
            {
                var result = job();
                Publish();
                done.SetResult(result);
            }
            catch (Exception e)
            {
                Publish();
                done.SetException(e);
            }
        }, e => done.TrySetException(e)));
        Wake();
        if (_exited) RefuseIncoming();
        return done.Task;
    }

    /// <summary>Evicts every cached prefix no running sequence uses; returns the cells freed.</summary>
    public Task<int> ClearPrefixCacheAsync() => OnEngineAsync(() => _prefixCache?.EvictAll() ?? 0);

    /// <summary>Stops accepting requests and cancels those still queued; running ones go on (see <see cref="CancelAll"/>).</summary>
    public void BeginShutdown()
    {
        _shuttingDown = true;
        Wake();
    }

    /// <summary>Cancels every queued and running request.</summary>
    public void CancelAll()
    {
        _shuttingDown = true;
        _cancelAll = true;
        Wake();
    }

    /// <summary>Cancels everything, waits for the engine thread to release it all and stops the thread. The context stays the caller's.</summary>
    public async ValueTask DisposeAsync()
    {
        CancelAll();
        _stop = true;
        Wake();
        // The wake event is left to the finalizer: a cancellation callback may still set it after this returns.
        await _engineExited.Task.ConfigureAwait(false);
    }

    private void RunEngine()
    {
        try
        {
            while (!_stop || _running.Count > 0 || _waiting.Count > 0 || !_incoming.IsEmpty || EmbeddingsPending)
            {
                try
                {
                    if (!Iterate()) _wake.WaitOne();
                }
                catch (Exception e)
                {
                    FailAll(e);
                }
                Publish();
            }
            RunJobs();
        }
        finally
        {
            _exited = true;
            RefuseIncoming();
            _engineExited.TrySetResult();
        }
    }

    /// <summary>One turn of the engine: take arrivals, run jobs, drop cancelled requests, admit, and step. False when idle.</summary>
    private bool Iterate()
    {
        TakeIncoming();
        TakeIncomingEmbeddings();
        RunJobs();
        ReapCancelled();
        ReapEmbeddings();
        AdmitEmbedding();
        Admit();
        bool embedded = StepEmbedding();
        if (_running.Count == 0) return embedded;
        Step();
        if (_stepDelay > TimeSpan.Zero) Thread.Sleep(_stepDelay);
        return true;
    }

    /// <summary>Ends requests and jobs that arrived after the engine stopped (either side may find them first).</summary>
    private void RefuseIncoming()
    {
        while (_jobs.TryDequeue(out var job)) job.Refuse(new ObjectDisposedException(nameof(GenerationScheduler)));
        while (_incoming.TryDequeue(out var r))
        {
            Interlocked.Decrement(ref _queued);
            Interlocked.Decrement(ref _inFlight);
            r.Events.Writer.TryComplete(new SchedulerUnavailableException("the scheduler has stopped", shuttingDown: true));
            r.Registration.Dispose();
            r.Done.TrySetResult();
        }
        while (_incomingEmbeddings.TryDequeue(out var job)) EndEmbedding(job, j => j.Done.TrySetException(new SchedulerUnavailableException("the scheduler has stopped", shuttingDown: true)));
    }

    private void TakeIncoming()
    {
        while (_incoming.TryDequeue(out var r)) _waiting.AddLast(r);
    }

    private void RunJobs()
    {
        while (_jobs.TryDequeue(out var job)) job.Run();
        Publish();
    }

    private void ReapCancelled()
    {
        for (var node = _waiting.First; node is not null;)
        {
            var next = node.Next;
            var r = node.Value;
            if (r.CancelRequested || _shuttingDown)
            {
                _waiting.Remove(node);
                Interlocked.Decrement(ref _queued);
                foreach (var c in r.Choices) if (c.Phase != ChoicePhase.Finished) Finish(c, StopReason.Cancelled);
            }
            node = next;
        }
        for (int i = _running.Count - 1; i >= 0; i--)
        {
            if (i >= _running.Count) continue;
            var r = _running[i];
            if (!r.CancelRequested && !_cancelAll) continue;
            foreach (var c in r.Choices) if (c.Phase != ChoicePhase.Finished) Finish(c, StopReason.Cancelled);
        }
    }

    /// <summary>After an unexpected failure: every request ends with the error, and the cache starts over empty.</summary>
    private void FailAll(Exception error)
    {
        var all = _running.Concat(_waiting).ToList();
        Interlocked.Add(ref _queued, -_waiting.Count);
        Interlocked.Add(ref _inFlight, -all.Count);
        _running.Clear();
        _waiting.Clear();
        foreach (var r in all)
        {
            foreach (var c in r.Choices)
            {
                c.Lease = null;
                if (c.Seq >= 0) ReturnSeq(c);
                c.Phase = ChoicePhase.Finished;
            }
            r.Events.Writer.TryComplete(new InvalidOperationException($"generation failed: {error.Message}", error));
            r.Registration.Dispose();
            r.Done.TrySetResult();
        }
        FailEmbeddings(new InvalidOperationException($"embedding failed: {error.Message}", error));
        _kv.Clear();
        _prefixCache?.Reset();
    }

    private void Publish()
    {
        Volatile.Write(ref _runningCount, _running.Count);
        Volatile.Write(ref _cellsUsed, _kv.Used);
        Volatile.Write(ref _prefixCells, _prefixCache?.CellCount ?? 0);
    }
}
