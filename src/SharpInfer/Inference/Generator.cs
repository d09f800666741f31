using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using SharpInfer.Files;
using SharpInfer.KvCache;
using SharpInfer.Sampling;
using SharpInfer.Tokenization;

namespace SharpInfer.Inference;

/// <summary>
/// The generation loop: prompt prefill, then sample → decode one token at a time until an end-of-generation
/// token, a stop string, the token limit or a full context (or, with context shift, indefinitely in flat memory).
/// Text is streamed as it becomes valid UTF-8.
/// </summary>
public sealed class Generator(InferenceContext context)
{
    /// <summary>The context generation runs in.</summary>
    public InferenceContext Context { get; } = context;

    /// <summary>Observes each context shift (tokens kept, tokens discarded).</summary>
    public event Action<int, int>? ContextShifted;

    /// <summary>Hears (prompt tokens evaluated, prompt tokens to evaluate) after each chunk of the prompt.</summary>
    public Action<int, int>? PromptProgress { get; set; }

    /// <summary>Receives non-fatal problems (an unusable prompt cache, for instance).</summary>
    public event Action<string>? Warning;

    /// <summary>Generates a continuation of <paramref name="prompt"/>, calling <paramref name="onText"/> with each new piece.</summary>
    public GenerationResult Generate(string prompt, GenerationOptions options, Action<string>? onText = null, CancellationToken cancellation = default)
    {
        var tokens = Context.Model.Tokenizer.Tokenize(prompt, options.AddSpecial, options.ParseSpecial);
        return Generate(tokens, options, onText, cancellation);
    }

    /// <summary>Generates a continuation of already tokenized input.</summary>
    public GenerationResult Generate(int[] promptTokens, GenerationOptions options, Action<string>? onText = null, CancellationToken cancellation = default)
    {
        var tokenizer = Context.Model.Tokenizer;
        int seq = options.Sequence;
        var kv = Context.Kv;
        int capacity = kv.Main.StreamOf(seq).Cells.Size;
        if (promptTokens.Length == 0) throw new ArgumentException("the prompt is empty (no tokens)");
        if (promptTokens.Length > capacity)
        {
            throw new ArgumentException($"the prompt is {promptTokens.Length} tokens but the context holds {capacity}; raise the context size or shorten the prompt");
        }
        // A prompt cache may only replace a state file: checked before any work, so a wrong path costs nothing.
        if (options.PromptCachePath is { } checkPath) OutputFile.CheckTarget(checkPath, KvState.FileKind, Context.Model.Path);
        var sampler = new Sampler(options.Sampling, Context.VocabSize, capacity);
        foreach (int t in promptTokens) sampler.Accept(t);

        var clock = Stopwatch.StartNew();
        int reused = options.PromptCachePath is { } cachePath ? RestorePromptCache(cachePath, promptTokens, seq)
            : options.CachedTokens is { } cached ? KeepCachedPrefix(cached, promptTokens, seq)
            : 0;
        int past = Prefill(promptTokens.AsSpan(reused).ToArray(), seq, cancellation);
        if (options.PromptCachePath is { } savePath && reused < promptTokens.Length) SavePromptCache(savePath, promptTokens, seq, cancellation);
        double promptMs = clock.Elapsed.TotalMilliseconds;

        int keep = options.Keep < 0 ? promptTokens.Length : Math.Min(options.Keep, promptTokens.Length);
        // BOS always stays: without it the model sees a context that starts mid-text.
        if (keep < 1 && promptTokens[0] == tokenizer.Vocabulary.Bos) keep = 1;
        var generated = new List<int>();
        var text = new StringBuilder();
        var decoder = new Utf8StreamDecoder();
        var stops = new StopStringMatcher(options.StopStrings);
        var batch = new Batch(1);
        var reason = StopReason.TokenLimit;
        int shifts = 0;
        ReadOnlySpan<float> logits = Context.GetOutputLogits(0);
        clock.Restart();
        while (options.MaxTokens < 0 || generated.Count < options.MaxTokens)
        {
            if (cancellation.IsCancellationRequested)
            {
                reason = StopReason.Cancelled;
                break;
            }
            int token = sampler.Sample(logits);
            sampler.Accept(token);
            generated.Add(token);
            if (options.StopAtEndOfGeneration && tokenizer.IsEndOfGeneration(token))
            {
                reason = StopReason.EndOfGeneration;
                break;
            }
            string piece = stops.Push(decoder.Push(tokenizer.TokenToPiece(token)));
            if (piece.Length > 0)
            {
                text.Append(piece);
                onText?.Invoke(piece);
            }
            if (stops.Stopped)
            {
                reason = StopReason.StopString;
                break;
            }
            if (options.MaxTokens >= 0 && generated.Count >= options.MaxTokens) break;

            if (kv.Main.StreamOf(seq).Cells.Used >= capacity)
            {
                if (!options.ContextShift)
                {
                    reason = StopReason.ContextFull;
                    break;
                }
                if (!kv.CanShift) throw new InvalidOperationException($"context shift: the cache of this {Context.Model.Architecture} model cannot be shifted");
                int discard = (int)((past - keep) * options.DiscardFraction);
                if (discard <= 0)
                {
                    reason = StopReason.ContextFull;
                    break;
                }
                kv.SeqRemove(seq, keep, keep + discard);
                kv.SeqAdd(seq, keep + discard, past, -discard);
                past -= discard;
                shifts++;
                ContextShifted?.Invoke(keep, discard);
            }
            batch.Clear();
            batch.Add(token, past, seq, true);
            Context.Decode(batch);
            past++;
            logits = Context.GetOutputLogits(0);
        }
        string tail = stops.Push(decoder.Flush()) + stops.Flush();
        if (tail.Length > 0)
        {
            text.Append(tail);
            onText?.Invoke(tail);
        }
        var timings = new GenerationTimings(promptMs, promptTokens.Length - reused, clock.Elapsed.TotalMilliseconds, generated.Count);
        return new GenerationResult(promptTokens, generated.ToArray(), text.ToString(), reason, timings, shifts, sampler.Seed) { PromptTokensReused = reused };
    }

    /// <summary>
    /// Restores the longest cached prefix of the prompt into <paramref name="seq"/> (always leaving at least the last
    /// prompt token to evaluate, since its logits are needed); returns how many tokens were restored.
    /// </summary>
    private int RestorePromptCache(string path, int[] prompt, int seq)
    {
        if (!File.Exists(path)) return 0;
        if (Context.Kv.SeqPosMax(seq) >= 0)
        {
            Warning?.Invoke($"prompt cache {path} not used: sequence {seq} is not empty");
            return 0;
        }
        try
        {
            var restored = KvState.RestoreFile(Context.Kv, path, Context.StateIdentity, seq);
            int common = 0;
            while (common < restored.Tokens.Length && common < prompt.Length && restored.Tokens[common] == prompt[common]) common++;
            int reuse = Math.Min(common, prompt.Length - 1);
            Context.Kv.SeqRemove(seq, reuse, -1);
            if (!Context.Kv.WindowIsWhole(seq, reuse))
            {
                // A sliding-window cache had recycled positions the first new token must see: nothing of the cached
                // prefix can be continued from, so the prompt is evaluated again from its start.
                Context.Kv.SeqRemove(seq, -1, -1);
                Warning?.Invoke($"prompt cache {path}: the sliding-window cache no longer holds what position {reuse} must see; evaluating the whole prompt again (--swa-full keeps full window caches)");
                return 0;
            }
            return reuse;
        }
        catch (Exception e) when (e is KvStateException or IOException or UnauthorizedAccessException)
        {
            Warning?.Invoke($"prompt cache {path} not used: {e.Message}");
            return 0;
        }
    }

    /// <summary>
    /// Keeps the longest prefix the sequence's cached tokens share with the prompt (leaving at least the last prompt
    /// token to evaluate) and removes everything after it; returns the prefix length. Where a sliding-window layer
    /// has already pruned positions the next token must see, nothing is kept.
    /// </summary>
    private int KeepCachedPrefix(IReadOnlyList<int> cached, int[] prompt, int seq)
    {
        var kv = Context.Kv;
        int common = 0;
        int limit = Math.Min(Math.Min(cached.Count, prompt.Length - 1), kv.SeqPosMax(seq) + 1);
        while (common < limit && cached[common] == prompt[common]) common++;
        if (!kv.WindowIsWhole(seq, common)) common = 0;
        kv.SeqRemove(seq, common, -1);
        return common;
    }

    /// <summary>
    /// Writes the evaluated prompt to the cache file atomically (a state file or nothing is all it may replace); a
    /// failure to write is a warning, not an error, since the generation itself is unaffected.
    /// </summary>
    private void SavePromptCache(string path, int[] prompt, int seq, CancellationToken cancellation)
    {
        try
        {
            KvState.SaveFile(Context.Kv, path, Context.StateIdentity, seq, prompt, cancellation, [Context.Model.Path]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Warning?.Invoke($"prompt cache {path} not written: {e.Message}");
        }
    }

    /// <summary>
    /// Generates <paramref name="count"/> continuations of one prompt at once: the prompt is evaluated once in sequence 0
    /// and shared with sequences 1..count−1 by copying cell tags (no bytes); then every step decodes one token of
    /// each unfinished sequence in a single batch. Sequence i samples with seed + i (or its own random seed).
    /// <paramref name="onText"/> receives (sequence, piece).
    /// </summary>
    public GenerationResult[] GenerateParallel(string prompt, int count, GenerationOptions options, Action<int, string>? onText = null, CancellationToken cancellation = default)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), "at least one sequence");
        if (count > Context.Options.MaxSequences) throw new ArgumentException($"{count} parallel sequences need a context created with MaxSequences ≥ {count} (it has {Context.Options.MaxSequences})");
        if (count == 1) return [Generate(prompt, options, piece => onText?.Invoke(0, piece), cancellation)];
        var tokenizer = Context.Model.Tokenizer;
        var promptTokens = tokenizer.Tokenize(prompt, options.AddSpecial, options.ParseSpecial);
        var kv = Context.Kv;
        int capacity = kv.Main.StreamOf(0).Cells.Size;
        if (promptTokens.Length == 0) throw new ArgumentException("the prompt is empty (no tokens)");
        if (promptTokens.Length > capacity) throw new ArgumentException($"the prompt is {promptTokens.Length} tokens but the context holds {capacity}");

        var clock = Stopwatch.StartNew();
        int past = Prefill(promptTokens, 0, cancellation);
        var firstLogits = Context.GetOutputLogits(0).ToArray();
        for (int s = 1; s < count; s++) kv.SeqCopy(0, s, -1, -1);
        double promptMs = clock.Elapsed.TotalMilliseconds;

        var samplers = new Sampler[count];
        var generated = new List<int>[count];
        var texts = new System.Text.StringBuilder[count];
        var decoders = new Utf8StreamDecoder[count];
        var stops = new StopStringMatcher[count];
        var reasons = new StopReason?[count];
        var logits = new float[count][];
        for (int s = 0; s < count; s++)
        {
            var sampling = options.Sampling.Seed is { } seed ? options.Sampling with { Seed = seed + (ulong)s } : options.Sampling;
            samplers[s] = new Sampler(sampling, Context.VocabSize, capacity);
            foreach (int t in promptTokens) samplers[s].Accept(t);
            generated[s] = new List<int>();
            texts[s] = new System.Text.StringBuilder();
            decoders[s] = new Utf8StreamDecoder();
            stops[s] = new StopStringMatcher(options.StopStrings);
            logits[s] = (float[])firstLogits.Clone();
        }
        var batch = new Batch(count);
        var rowOf = new int[count];
        clock.Restart();
        while (true)
        {
            batch.Clear();
            for (int s = 0; s < count; s++)
            {
                if (reasons[s] is not null) continue;
                if (cancellation.IsCancellationRequested)
                {
                    reasons[s] = StopReason.Cancelled;
                    continue;
                }
                int token = samplers[s].Sample(logits[s]);
                samplers[s].Accept(token);
                generated[s].Add(token);
                if (options.StopAtEndOfGeneration && tokenizer.IsEndOfGeneration(token))
                {
                    reasons[s] = StopReason.EndOfGeneration;
                    continue;
                }
                string piece = stops[s].Push(decoders[s].Push(tokenizer.TokenToPiece(token)));
                if (piece.Length > 0)
                {
                    texts[s].Append(piece);
                    onText?.Invoke(s, piece);
                }
                if (stops[s].Stopped)
                {
                    reasons[s] = StopReason.StopString;
                    continue;
                }
                if (options.MaxTokens >= 0 && generated[s].Count >= options.MaxTokens)
                {
                    reasons[s] = StopReason.TokenLimit;
                    continue;
                }
                rowOf[s] = batch.Count;
                batch.Add(token, past, s, true);
            }
            if (batch.Count == 0) break;
            if (kv.Main.StreamOf(0).Cells.Used + batch.Count > capacity && kv.Options.Unified)
            {
                for (int s = 0; s < count; s++) reasons[s] ??= StopReason.ContextFull;
                break;
            }
            try
            {
                Context.Decode(batch);
            }
            catch (SharpInfer.KvCache.KvCacheFullException)
            {
                for (int s = 0; s < count; s++) reasons[s] ??= StopReason.ContextFull;
                break;
            }
            past++;
            for (int s = 0; s < count; s++)
            {
                if (reasons[s] is null) Context.GetOutputLogits(rowOf[s]).CopyTo(logits[s]);
            }
        }
        double genMs = clock.Elapsed.TotalMilliseconds;
        var results = new GenerationResult[count];
        for (int s = 0; s < count; s++)
        {
            string tail = stops[s].Push(decoders[s].Flush()) + stops[s].Flush();
            if (tail.Length > 0)
            {
                texts[s].Append(tail);
                onText?.Invoke(s, tail);
            }
            var timings = new GenerationTimings(promptMs, promptTokens.Length, genMs, generated[s].Count);
            results[s] = new GenerationResult(promptTokens, generated[s].ToArray(), texts[s].ToString(), reasons[s] ?? StopReason.TokenLimit, timings, 0, samplers[s].Seed);
        }
        return results;
    }

    /// <summary>Evaluates the prompt after whatever the sequence already holds; returns the next position.</summary>
    private int Prefill(int[] tokens, int seq, CancellationToken cancellation)
    {
        int start = Context.Kv.SeqPosMax(seq) + 1;
        // Decode splits a batch into micro-batches anyway: with a listener, one micro-batch per batch reports as often as possible.
        int chunk = Math.Min(tokens.Length, Math.Max(1, Context.Options.MicroBatchSize * (PromptProgress is null ? 4 : 1)));
        var batch = new Batch(chunk);
        for (int i = 0; i < tokens.Length; i += chunk)
        {
            cancellation.ThrowIfCancellationRequested();
            batch.Clear();
            int n = Math.Min(chunk, tokens.Length - i);
            for (int j = 0; j < n; j++) batch.Add(tokens[i + j], start + i + j, seq, i + j == tokens.Length - 1);
            Context.Decode(batch);
            PromptProgress?.Invoke(i + n, tokens.Length);
        }
        return start + tokens.Length;
    }

    /// <summary>
    /// Streams the continuation as text pieces; the result is available through <paramref name="completed"/>.
    /// Generation runs on a worker thread. Leaving the enumeration early (break, an exception in the loop body, or
    /// <paramref name="cancellation"/>) stops that worker, and the enumeration returns only after it has stopped, so
    /// nothing writes into the context once the caller moves on (it may dispose the context at once).
    /// </summary>
    public async IAsyncEnumerable<string> GenerateAsync(string prompt, GenerationOptions options,
        Action<GenerationResult>? completed = null, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var work = Task.Run(() =>
        {
            try
            {
                var result = Generate(prompt, options, piece => channel.Writer.TryWrite(piece), stop.Token);
                completed?.Invoke(result);
                channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e);
            }
        }, CancellationToken.None);
        bool finished = false;
        try
        {
            await foreach (var piece in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
            {
                yield return piece;
            }
            finished = true;
        }
        finally
        {
            if (!finished) stop.Cancel();
            // Wait for the worker whatever happened: it uses the context until Generate returns.
            await work.ConfigureAwait(false);
        }
    }
}
