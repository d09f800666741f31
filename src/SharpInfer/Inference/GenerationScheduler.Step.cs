using System.Diagnostics;
using System.Runtime.InteropServices;
using SharpInfer.KvCache;

namespace SharpInfer.Inference;

// The engine thread's work: admission, one evaluation step, sampling, finishing and preemption.
public sealed partial class GenerationScheduler
{
    private readonly Batch _batch;
    private readonly List<ScheduledChoice> _outputs = new();
    private readonly List<(ScheduledChoice Choice, int Tokens)> _prefills = new();
    private readonly List<ScheduledChoice> _decodes = new();

    private int FreeCells => _kv.Capacity - _kv.Used - EmbeddingReserve;

    /// <summary>Moves waiting requests to running, oldest first, while sequences and cells allow.</summary>
    private void Admit()
    {
        // An embedding that could not start for want of cells goes first; new requests would keep taking them.
        if (_activeEmbedding is null && _waitingEmbeddings.Count > 0) return;
        while (_waiting.First is { } node)
        {
            var r = node.Value;
            int needed = r.Unfinished;
            if (_freeSeqs.Count < needed || !Fits(r)) break;
            _waiting.RemoveFirst();
            Interlocked.Decrement(ref _queued);
            Start(r);
        }
    }

    /// <summary>
    /// Whether the request's prompt can be evaluated without pausing anyone: the cells it must evaluate (less what the
    /// prefix cache has) fit in the free and evictable cells, with one cell per running sequence to spare.
    /// A request always fits when nothing else runs.
    /// </summary>
    private bool Fits(ScheduledRequest r)
    {
        if (_running.Count == 0 && _activeEmbedding is null) return true;
        int needed = 0, active = 0;
        foreach (var c in r.Choices)
        {
            if (c.Phase is ChoicePhase.Queued && c.Index > 0 || c.Phase is ChoicePhase.AwaitingFork or ChoicePhase.Finished) continue;
            int cached = UsesPrefixCache(r) ? _prefixCache!.MatchLength(CollectionsMarshal.AsSpan(c.Tokens)) : 0;
            needed += c.Tokens.Count - cached;
        }
        foreach (var running in _running) active += running.Unfinished;
        return needed + active <= FreeCells + (_prefixCache?.EvictableCells ?? 0);
    }

    private bool UsesPrefixCache(ScheduledRequest r) => _prefixCache is not null && r.Request.UsePrefixCache;

    /// <summary>Gives every unfinished choice a sequence and takes cached prefixes; the request runs from the next step.</summary>
    private void Start(ScheduledRequest r)
    {
        if (!r.EverAdmitted) r.Admitted = Stopwatch.GetTimestamp();
        foreach (var c in r.Choices)
        {
            if (c.Phase == ChoicePhase.Finished) continue;
            c.Seq = _freeSeqs.Pop();
            _slotOwner[c.Seq] = c;
            if (c.Phase == ChoicePhase.Queued) c.Phase = c.Index == 0 ? ChoicePhase.Prefilling : ChoicePhase.AwaitingFork;
            else if (c.Phase == ChoicePhase.Paused) c.Phase = ChoicePhase.Prefilling;
            if (c.Phase != ChoicePhase.Prefilling) continue;
            c.Past = 0;
            if (UsesPrefixCache(r))
            {
                // At least the last token is evaluated again: its logits are what the choice samples from.
                c.Lease = _prefixCache!.Acquire(CollectionsMarshal.AsSpan(c.Tokens), c.Tokens.Count - 1, c.Seq);
                c.Past = c.Lease.Length;
            }
            if (!r.EverAdmitted && c.Index == 0)
            {
                r.CachedPromptTokens = c.Past;
                Interlocked.Add(ref _prefixHitsTotal, c.Past);
            }
        }
        r.EverAdmitted = true;
        _running.Add(r);
    }

    /// <summary>One evaluation: every decoding choice's next token, then prompt chunks within the budget.</summary>
    private void Step()
    {
        if (!MakeRoomForDecodes()) return;
        _batch.Clear();
        _outputs.Clear();
        _prefills.Clear();
        _decodes.Clear();
        foreach (var r in _running)
        {
            foreach (var c in r.Choices)
            {
                if (c.Phase != ChoicePhase.Decoding) continue;
                _batch.Add(c.Tokens[c.Past], c.Past, c.Seq, true);
                _decodes.Add(c);
                _outputs.Add(c);
            }
        }
        AddPrefillChunks();
        if (_batch.Count == 0)
        {
            // Nothing fits: no decoding choice and no cell for any prompt token.
            if (!WaitingForEmbedding) RelieveShortage();
            return;
        }
        try
        {
            _context.Decode(_batch);
        }
        catch (KvCacheFullException)
        {
            // Decode changes nothing when it cannot place the batch; make room and try again next step.
            if (!WaitingForEmbedding) RelieveShortage();
            return;
        }
        Interlocked.Increment(ref _steps);
        foreach (var c in _decodes) c.Past++;
        foreach (var (c, tokens) in _prefills) c.Past += tokens;
        for (int row = 0; row < _outputs.Count; row++)
        {
            var c = _outputs[row];
            if (c.Phase == ChoicePhase.Finished) continue;
            if (c.Phase == ChoicePhase.Prefilling) PrefillDone(c, _context.GetOutputLogits(row));
            else Sample(c, _context.GetOutputLogits(row));
        }
        if (_verify) VerifyAccounting();
    }

    /// <summary>Adds prompt chunks, oldest request first, as far as the step budget and the cells (after eviction) allow.</summary>
    private void AddPrefillChunks()
    {
        int allowance = _stepTokens - _batch.Count;
        if (allowance <= 0) return;
        int pending = 0;
        foreach (var r in _running) foreach (var c in r.Choices) if (c.Phase == ChoicePhase.Prefilling) pending += c.PendingPrefill;
        // Cached prefixes are evicted only for prompt tokens that will really be evaluated now.
        allowance = Math.Min(allowance, pending);
        if (allowance == 0) return;
        int free = FreeCells - _batch.Count;
        if (free < allowance && _prefixCache is not null) free += _prefixCache.Evict(allowance - free);
        allowance = Math.Min(allowance, free);
        foreach (var r in _running)
        {
            foreach (var c in r.Choices)
            {
                if (allowance <= 0) return;
                if (c.Phase != ChoicePhase.Prefilling) continue;
                int take = Math.Min(c.PendingPrefill, allowance);
                for (int i = 0; i < take; i++)
                {
                    int at = c.Past + i;
                    _batch.Add(c.Tokens[at], at, c.Seq, at == c.Tokens.Count - 1);
                }
                _prefills.Add((c, take));
                if (take == c.PendingPrefill) _outputs.Add(c);
                allowance -= take;
            }
        }
    }

    /// <summary>
    /// Ensures one free cell per decoding choice: evicts unused cached prefixes, then pauses the newest request, and
    /// when one request is left, ends choices of it as <see cref="StopReason.ContextFull"/>. False when nothing runs any more.
    /// </summary>
    private bool MakeRoomForDecodes()
    {
        while (true)
        {
            int decodes = 0;
            foreach (var r in _running) foreach (var c in r.Choices) if (c.Phase == ChoicePhase.Decoding) decodes++;
            int free = FreeCells;
            if (free >= decodes) return _running.Count > 0;
            if (_prefixCache is not null && _prefixCache.Evict(decodes - free) > 0) continue;
            if (WaitingForEmbedding) return false;
            RelieveShortage();
        }
    }

    /// <summary>
    /// Whether a running embedding holds cells (or a reservation) that it gives back within a few turns: a shortage
    /// then waits for it instead of pausing a request or ending it as <see cref="StopReason.ContextFull"/>.
    /// </summary>
    private bool WaitingForEmbedding => _activeEmbedding is not null;

    /// <summary>Frees cells when the cache is short: pauses the newest of several requests, or ends a lone request's choices.</summary>
    private void RelieveShortage()
    {
        if (_running.Count > 1)
        {
            Preempt(_running[^1]);
            return;
        }
        if (_running.Count == 0) return;
        var lone = _running[0];
        // Ends the last active choice; a lone request with one choice ends altogether.
        for (int i = lone.Choices.Length - 1; i >= 0; i--)
        {
            var c = lone.Choices[i];
            if (c.Phase is ChoicePhase.Decoding or ChoicePhase.Prefilling or ChoicePhase.AwaitingFork)
            {
                if (c.Index == 0) foreach (var other in lone.Choices) if (other.Phase == ChoicePhase.AwaitingFork) Finish(other, StopReason.ContextFull);
                if (c.Phase != ChoicePhase.Finished) Finish(c, StopReason.ContextFull);
                return;
            }
        }
    }

    /// <summary>Pauses a request: its evaluated tokens go into the prefix cache, its cells are released, and it waits first in line.</summary>
    private void Preempt(ScheduledRequest r)
    {
        foreach (var c in r.Choices)
        {
            if (c.Seq < 0) continue;
            ReleaseSequence(c);
            if (c.Phase is ChoicePhase.Decoding or ChoicePhase.Prefilling) c.Phase = ChoicePhase.Paused;
        }
        _running.Remove(r);
        r.Preemptions++;
        Interlocked.Increment(ref _preemptionsTotal);
        _waiting.AddFirst(r);
        Interlocked.Increment(ref _queued);
    }

    /// <summary>A choice evaluated all its tokens: it enters the prefix cache, forks its siblings, and samples.</summary>
    private void PrefillDone(ScheduledChoice c, ReadOnlySpan<float> logits)
    {
        if (c.Lease is not null) _prefixCache!.Extend(c.Lease, CollectionsMarshal.AsSpan(c.Tokens)[..c.Past]);
        var forks = c.Index == 0 ? c.Request.Choices.Where(f => f.Phase == ChoicePhase.AwaitingFork).ToList() : [];
        foreach (var f in forks)
        {
            _kv.SeqCopy(c.Seq, f.Seq, -1, -1);
            f.Past = c.Past;
            if (c.Lease is not null) f.Lease = _prefixCache!.Share(c.Lease, f.Seq);
        }
        Sample(c, logits);
        foreach (var f in forks) Sample(f, logits);
    }

    /// <summary>Samples a choice's next token, emits it, and either queues it for evaluation or finishes the choice.</summary>
    private void Sample(ScheduledChoice c, ReadOnlySpan<float> logits)
    {
        var r = c.Request;
        int token = c.Sampler.Sample(logits);
        c.Sampler.Accept(token);
        var logprobs = r.Request.TopLogprobs >= 0 ? TokenLogprobs.Compute(logits, token, r.Request.TopLogprobs) : null;
        c.Tokens.Add(token);
        c.Generated++;
        r.CompletionTokens++;
        Interlocked.Increment(ref _generatedTotal);
        if (r.FirstToken == 0) r.FirstToken = Stopwatch.GetTimestamp();
        var tokenizer = _context.Model.Tokenizer;
        if (r.Request.StopAtEndOfGeneration && tokenizer.IsEndOfGeneration(token))
        {
            Finish(c, StopReason.EndOfGeneration);
            return;
        }
        string text = c.Stops.Push(c.Decoder.Push(tokenizer.TokenToPiece(token)));
        r.Events.Writer.TryWrite(new TokenGenerated(c.Index, token, text, logprobs));
        if (c.Stops.Stopped) Finish(c, StopReason.StopString);
        else if (r.Request.MaxTokens >= 0 && c.Generated >= r.Request.MaxTokens) Finish(c, StopReason.TokenLimit);
        else if (c.Past >= _kv.Capacity) Finish(c, StopReason.ContextFull);
        else c.Phase = ChoicePhase.Decoding;
    }

    /// <summary>Ends a choice: flushes held-back text, releases its sequence, and completes the request after its last choice.</summary>
    private void Finish(ScheduledChoice c, StopReason reason)
    {
        var r = c.Request;
        string tail = c.Stops.Push(c.Decoder.Flush()) + c.Stops.Flush();
        if (c.Seq >= 0) ReleaseSequence(c);
        c.Phase = ChoicePhase.Finished;
        r.Events.Writer.TryWrite(new ChoiceFinished(c.Index, reason, tail));
        if (--r.Unfinished > 0) return;
        _running.Remove(r);
        r.Events.Writer.TryWrite(new GenerationCompleted(r.Usage()));
        r.Events.Writer.TryComplete();
        r.Registration.Dispose();
        Interlocked.Decrement(ref _inFlight);
        r.Done.TrySetResult();
    }

    /// <summary>Indexes what the choice evaluated in the prefix cache, drops its lease and frees its sequence id and own cells.</summary>
    private void ReleaseSequence(ScheduledChoice c)
    {
        if (c.Lease is not null)
        {
            _prefixCache!.Extend(c.Lease, CollectionsMarshal.AsSpan(c.Tokens)[..c.Past]);
            _prefixCache.Release(c.Lease);
            c.Lease = null;
        }
        _slotTokens[c.Seq] = c.Tokens.GetRange(0, c.Past).ToArray();
        ReturnSeq(c);
    }

    private void ReturnSeq(ScheduledChoice c)
    {
        _kv.SeqRemove(c.Seq, -1, -1);
        _slotOwner[c.Seq] = null;
        _freeSeqs.Push(c.Seq);
        c.Seq = -1;
        c.Past = 0;
    }

    /// <summary>Checks (tests) that the prefix cache is consistent and every running choice holds exactly its positions.</summary>
    private void VerifyAccounting()
    {
        var leases = new List<PrefixLease>();
        foreach (var r in _running)
        {
            foreach (var c in r.Choices)
            {
                if (c.Lease is not null) leases.Add(c.Lease);
                if (c.Seq < 0) continue;
                int held = _kv.Main.SeqCellCount(c.Seq);
                if (held != c.Past || (held > 0 && (_kv.SeqPosMin(c.Seq) != 0 || _kv.SeqPosMax(c.Seq) != c.Past - 1)))
                {
                    throw new InvalidOperationException($"choice {c.Index} in sequence {c.Seq} holds {held} cells, expected positions 0..{c.Past - 1}");
                }
            }
        }
        _prefixCache?.CheckInvariants(leases);
    }
}
