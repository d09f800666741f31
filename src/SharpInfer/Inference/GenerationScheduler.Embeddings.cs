using System.Collections.Concurrent;
using SharpInfer.KvCache;

namespace SharpInfer.Inference;

/// <summary>A text's embedding from <see cref="GenerationScheduler.EmbedAsync"/>.</summary>
/// <param name="Vector">The pooled, unit-length embedding.</param>
/// <param name="Tokens">Tokens evaluated.</param>
public sealed record EmbeddingResult(float[] Vector, int Tokens);

// Embeddings: one at a time, in a sequence id of their own, a step's worth of tokens per engine turn before the
// generation step, so running streams keep going while a long input is embedded. An admitted embedding's remaining
// tokens are held back from the free cells the generation side sees, so it always finds its cells.
public sealed partial class GenerationScheduler
{
    private readonly ConcurrentQueue<EmbeddingJob> _incomingEmbeddings = new();
    private readonly LinkedList<EmbeddingJob> _waitingEmbeddings = new();
    private EmbeddingJob? _activeEmbedding;
    private Batch? _embeddingBatch;

    /// <summary>
    /// Queues the embedding of <paramref name="tokens"/> (already tokenized) with <paramref name="pooling"/>; it shares
    /// the context with running generations. Throws <see cref="ArgumentException"/> for an empty input, a token outside
    /// the vocabulary or an input longer than the cache, and <see cref="SchedulerUnavailableException"/> when the queue
    /// is full or the scheduler is shutting down. <paramref name="cancellation"/> cancels it.
    /// </summary>
    public Task<EmbeddingResult> EmbedAsync(IReadOnlyList<int> tokens, PoolingType pooling, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var input = tokens.ToArray();
        if (input.Length == 0) throw new ArgumentException("nothing to embed: the input has no tokens");
        int vocab = _context.VocabSize;
        foreach (int t in input)
        {
            if ((uint)t >= (uint)vocab) throw new ArgumentException($"input token {t} is outside the vocabulary (0..{vocab - 1})");
        }
        if (input.Length > _kv.Capacity) throw new ArgumentException($"the input is {input.Length} tokens but the context holds {_kv.Capacity}");
        if (_shuttingDown) throw new SchedulerUnavailableException("the scheduler is shutting down", shuttingDown: true);
        if (Interlocked.Increment(ref _inFlight) > _maxQueued + MaxRunningSequences)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new SchedulerUnavailableException($"too many requests in flight ({MaxRunningSequences} running and {_maxQueued} queued at most); try again shortly", shuttingDown: false);
        }
        Interlocked.Increment(ref _requestsTotal);
        Interlocked.Add(ref _promptTokensTotal, input.Length);
        var job = new EmbeddingJob(new EmbeddingComputation(input, pooling, _context.EmbeddingLength), Wake);
        if (cancellation.CanBeCanceled) job.Registration = cancellation.Register(job.Cancel);
        _incomingEmbeddings.Enqueue(job);
        Wake();
        if (_exited) RefuseIncoming();
        return job.Done.Task;
    }

    /// <summary>Remaining tokens of the embedding being computed: cells the generation side must leave free.</summary>
    private int EmbeddingReserve => _activeEmbedding?.Computation.Remaining ?? 0;

    /// <summary>Whether embeddings wait or run (admission of new generations waits behind them).</summary>
    private bool EmbeddingsPending => _activeEmbedding is not null || _waitingEmbeddings.Count > 0 || !_incomingEmbeddings.IsEmpty;

    private void TakeIncomingEmbeddings()
    {
        while (_incomingEmbeddings.TryDequeue(out var job)) _waitingEmbeddings.AddLast(job);
    }

    /// <summary>Ends cancelled embeddings, and on shutdown the waiting ones (and with <see cref="CancelAll"/> the running one).</summary>
    private void ReapEmbeddings()
    {
        for (var node = _waitingEmbeddings.First; node is not null;)
        {
            var next = node.Next;
            if (node.Value.CancelRequested || _shuttingDown)
            {
                _waitingEmbeddings.Remove(node);
                if (node.Value.CancelRequested) EndEmbedding(node.Value, e => e.Done.TrySetCanceled());
                else EndEmbedding(node.Value, e => e.Done.TrySetException(new SchedulerUnavailableException("the scheduler is shutting down", shuttingDown: true)));
            }
            node = next;
        }
        if (_activeEmbedding is { } active && (active.CancelRequested || _cancelAll)) FinishActiveEmbedding(e => e.Done.TrySetCanceled());
    }

    /// <summary>Starts the oldest waiting embedding when its tokens fit beside the running sequences' next tokens.</summary>
    private void AdmitEmbedding()
    {
        if (_activeEmbedding is not null || _waitingEmbeddings.First is not { } first) return;
        var job = first.Value;
        int decodes = 0;
        foreach (var r in _running) decodes += r.Unfinished;
        int free = FreeCells - decodes;
        int needed = job.Computation.Remaining;
        if (needed > free + (_prefixCache?.EvictableCells ?? 0) && _running.Count > 0) return;
        if (needed > free) _prefixCache?.Evict(needed - free);
        _waitingEmbeddings.RemoveFirst();
        _activeEmbedding = job;
    }

    /// <summary>Evaluates the next chunk of the running embedding; false when there is none.</summary>
    private bool StepEmbedding()
    {
        if (_activeEmbedding is not { } job) return false;
        _embeddingBatch ??= new Batch(_stepTokens);
        try
        {
            job.Computation.Step(_context, _embeddingSeq, _stepTokens, _embeddingBatch);
        }
        catch (KvCacheFullException) when (_prefixCache is not null && _prefixCache.EvictableCells > 0)
        {
            // Cells taken before the reservation began (a window cache's own accounting): free some and retry next turn.
            _prefixCache.Evict(job.Computation.Remaining);
            return true;
        }
        catch (Exception e)
        {
            FinishActiveEmbedding(j => j.Done.TrySetException(e));
            return true;
        }
        Interlocked.Increment(ref _steps);
        if (job.Computation.IsComplete)
        {
            var result = new EmbeddingResult(job.Computation.Result(), job.Computation.TokenCount);
            FinishActiveEmbedding(j => j.Done.TrySetResult(result));
        }
        return true;
    }

    private void FinishActiveEmbedding(Action<EmbeddingJob> complete)
    {
        var job = _activeEmbedding!;
        _activeEmbedding = null;
        _kv.SeqRemove(_embeddingSeq, -1, -1);
        EndEmbedding(job, complete);
    }

    private void EndEmbedding(EmbeddingJob job, Action<EmbeddingJob> complete)
    {
        job.Registration.Dispose();
        Interlocked.Decrement(ref _inFlight);
        complete(job);
    }

    /// <summary>After an unexpected failure or when the engine stops: every embedding ends with <paramref name="error"/>.</summary>
    private void FailEmbeddings(Exception error)
    {
        if (_activeEmbedding is not null) FinishActiveEmbedding(j => j.Done.TrySetException(error));
        foreach (var job in _waitingEmbeddings) EndEmbedding(job, j => j.Done.TrySetException(error));
        _waitingEmbeddings.Clear();
        while (_incomingEmbeddings.TryDequeue(out var job)) EndEmbedding(job, j => j.Done.TrySetException(error));
    }

    /// <summary>One queued or running embedding: other threads only set the cancel flag.</summary>
    private sealed class EmbeddingJob(EmbeddingComputation computation, Action wake)
    {
        private volatile bool _cancelRequested;

        public EmbeddingComputation Computation { get; } = computation;
        public TaskCompletionSource<EmbeddingResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public CancellationTokenRegistration Registration { get; set; }
        public bool CancelRequested => _cancelRequested;

        public void Cancel()
        {
            _cancelRequested = true;
            wake();
        }
    }
}
