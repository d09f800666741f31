namespace SharpInfer.Inference;

/// <summary>
/// The events of one submitted request, in order, ending with <see cref="GenerationCompleted"/>. Enumerate it once.
/// Leaving the enumeration early (break, an exception, cancelling its token) cancels the request and returns only
/// after the scheduler has stopped it and released its cells, so nothing keeps running on the caller's behalf.
/// </summary>
public sealed class GenerationStream : IAsyncEnumerable<GenerationEvent>, IAsyncDisposable
{
    private readonly ScheduledRequest _request;
    private int _enumerated;

    internal GenerationStream(ScheduledRequest request) => _request = request;

    /// <summary>Number of choices.</summary>
    public int Choices => _request.Choices.Length;

    /// <summary>Prompt tokens.</summary>
    public int PromptTokens => _request.Prompt.Length;

    /// <summary>Completes once the request has ended and released its cells.</summary>
    public Task Completion => _request.Done.Task;

    /// <summary>Stops the request at the scheduler's next step; the events end with the choices finished as cancelled.</summary>
    public void Cancel() => _request.Cancel();

    /// <inheritdoc />
    public async IAsyncEnumerator<GenerationEvent> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _enumerated, 1) != 0) throw new InvalidOperationException("a generation stream can be enumerated only once");
        bool completed = false;
        try
        {
            await foreach (var e in _request.Events.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (e is GenerationCompleted) completed = true;
                yield return e;
            }
        }
        finally
        {
            if (!completed) await StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Cancels the request unless it has ended, and waits until the scheduler has released it.</summary>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    private async Task StopAsync()
    {
        _request.Cancel();
        try
        {
            await _request.Done.Task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The request failed; the enumeration already surfaced the error (or the caller is discarding it).
        }
    }
}

/// <summary>Convenience readers of a <see cref="GenerationStream"/>.</summary>
public static class GenerationStreamExtensions
{
    /// <summary>Reads the whole stream: each choice's text, tokens, logprobs (when asked for) and finish reason, and the usage.</summary>
    public static async Task<GenerationSummary> CollectAsync(this GenerationStream stream, CancellationToken cancellation = default)
    {
        var texts = new System.Text.StringBuilder[stream.Choices];
        var tokens = new List<int>[stream.Choices];
        var logprobs = new List<TokenLogprobs>[stream.Choices];
        var reasons = new StopReason[stream.Choices];
        for (int i = 0; i < texts.Length; i++)
        {
            texts[i] = new System.Text.StringBuilder();
            tokens[i] = new List<int>();
            logprobs[i] = new List<TokenLogprobs>();
        }
        GenerationUsage? usage = null;
        await foreach (var e in stream.WithCancellation(cancellation).ConfigureAwait(false))
        {
            switch (e)
            {
                case TokenGenerated t:
                    texts[t.Choice].Append(t.Text);
                    tokens[t.Choice].Add(t.Token);
                    if (t.Logprobs is { } lp) logprobs[t.Choice].Add(lp);
                    break;
                case ChoiceFinished f:
                    texts[f.Choice].Append(f.Text);
                    reasons[f.Choice] = f.Reason;
                    break;
                case GenerationCompleted c:
                    usage = c.Usage;
                    break;
            }
        }
        var choices = new GenerationSummary.Choice[texts.Length];
        for (int i = 0; i < choices.Length; i++) choices[i] = new GenerationSummary.Choice(texts[i].ToString(), tokens[i].ToArray(), reasons[i], logprobs[i]);
        return new GenerationSummary(choices, usage ?? throw new InvalidOperationException("the stream ended without completing"));
    }
}

/// <summary>What a request produced, read to its end.</summary>
/// <param name="Choices">Per choice: text, generated tokens (end-of-generation tokens not listed), finish reason, logprobs.</param>
/// <param name="Usage">Token counts and times.</param>
public sealed record GenerationSummary(IReadOnlyList<GenerationSummary.Choice> Choices, GenerationUsage Usage)
{
    /// <summary>One choice's result.</summary>
    public sealed record Choice(string Text, int[] Tokens, StopReason Reason, IReadOnlyList<TokenLogprobs> Logprobs);
}
