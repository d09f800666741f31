using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
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
        var sampler = new Sampler(options.Sampling, Context.VocabSize, capacity);
        foreach (int t in promptTokens) sampler.Accept(t);

        var clock = Stopwatch.StartNew();
        int past = Prefill(promptTokens, seq, cancellation);
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
        var timings = new GenerationTimings(promptMs, promptTokens.Length, clock.Elapsed.TotalMilliseconds, generated.Count);
        return new GenerationResult(promptTokens, generated.ToArray(), text.ToString(), reason, timings, shifts, sampler.Seed);
    }

    /// <summary>Evaluates the prompt after whatever the sequence already holds; returns the next position.</summary>
    private int Prefill(int[] tokens, int seq, CancellationToken cancellation)
    {
        int start = Context.Kv.SeqPosMax(seq) + 1;
        int chunk = Math.Min(tokens.Length, Math.Max(1, Context.Options.MicroBatchSize * 4));
        var batch = new Batch(chunk);
        for (int i = 0; i < tokens.Length; i += chunk)
        {
            cancellation.ThrowIfCancellationRequested();
            batch.Clear();
            int n = Math.Min(chunk, tokens.Length - i);
            for (int j = 0; j < n; j++) batch.Add(tokens[i + j], start + i + j, seq, i + j == tokens.Length - 1);
            Context.Decode(batch);
        }
        return start + tokens.Length;
    }

    /// <summary>Streams the continuation as text pieces; the result is available through <paramref name="completed"/>.</summary>
    public async IAsyncEnumerable<string> GenerateAsync(string prompt, GenerationOptions options,
        Action<GenerationResult>? completed = null, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var work = Task.Run(() =>
        {
            try
            {
                var result = Generate(prompt, options, piece => channel.Writer.TryWrite(piece), cancellation);
                completed?.Invoke(result);
                channel.Writer.TryComplete();
            }
            catch (Exception e)
            {
                channel.Writer.TryComplete(e);
            }
        }, CancellationToken.None);
        await foreach (var piece in channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            yield return piece;
        }
        await work.ConfigureAwait(false);
    }
}
