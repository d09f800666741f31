using System.Diagnostics;
using System.Threading.Channels;
using SharpInfer.KvCache;
using SharpInfer.Sampling;
using SharpInfer.Tokenization;

namespace SharpInfer.Inference;

/// <summary>Where a choice stands in the scheduler.</summary>
internal enum ChoicePhase
{
    /// <summary>Not started: the request waits for admission.</summary>
    Queued,
    /// <summary>Evaluating its tokens (the prompt, or everything so far after a pause), chunk by chunk.</summary>
    Prefilling,
    /// <summary>Will share choice 0's prompt cells once choice 0 has evaluated the prompt.</summary>
    AwaitingFork,
    /// <summary>Has a sampled token to evaluate in the next step.</summary>
    Decoding,
    /// <summary>Preempted: holds no cells; re-evaluates its tokens when admitted again.</summary>
    Paused,
    /// <summary>Done.</summary>
    Finished,
}

/// <summary>One continuation of a request: its sequence, sampler, text state and tokens.</summary>
internal sealed class ScheduledChoice(ScheduledRequest request, int index, Sampler sampler, IReadOnlyList<string> stops)
{
    public ScheduledRequest Request { get; } = request;
    public int Index { get; } = index;
    public Sampler Sampler { get; } = sampler;
    public Utf8StreamDecoder Decoder { get; } = new();
    public StopStringMatcher Stops { get; } = new(stops);

    /// <summary>Prompt then generated tokens; the first <see cref="Past"/> of them are in the cache (positions 0..Past − 1).</summary>
    public List<int> Tokens { get; } = new(request.Prompt);

    public ChoicePhase Phase { get; set; } = ChoicePhase.Queued;
    public int Seq { get; set; } = -1;
    public int Past { get; set; }
    public int Generated { get; set; }
    public PrefixLease? Lease { get; set; }

    /// <summary>Tokens still to evaluate before the choice can sample.</summary>
    public int PendingPrefill => Tokens.Count - Past;

    public bool IsActive => Phase is not (ChoicePhase.Finished or ChoicePhase.Queued or ChoicePhase.Paused);
}

/// <summary>A submitted request as the engine thread tracks it; other threads only read the channel and set the cancel flag.</summary>
internal sealed class ScheduledRequest
{
    private readonly Action _wake;
    private volatile bool _cancelRequested;

    public ScheduledRequest(GenerationRequest request, int[] prompt, Func<int, Sampler> samplerFor, Action wake)
    {
        Request = request;
        Prompt = prompt;
        _wake = wake;
        Choices = new ScheduledChoice[request.Choices];
        for (int i = 0; i < Choices.Length; i++) Choices[i] = new ScheduledChoice(this, i, samplerFor(i), request.StopStrings);
        Unfinished = Choices.Length;
        Events = Channel.CreateUnbounded<GenerationEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        Submitted = Stopwatch.GetTimestamp();
    }

    public GenerationRequest Request { get; }
    public int[] Prompt { get; }
    public ScheduledChoice[] Choices { get; }
    public Channel<GenerationEvent> Events { get; }

    /// <summary>Completes when the engine has released everything the request held (after its last event).</summary>
    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CancellationTokenRegistration Registration { get; set; }
    public bool CancelRequested => _cancelRequested;

    public int Unfinished { get; set; }
    public bool EverAdmitted { get; set; }
    public long Submitted { get; }
    public long Admitted { get; set; }
    public long FirstToken { get; set; }
    public int CachedPromptTokens { get; set; }
    public int CompletionTokens { get; set; }
    public int Preemptions { get; set; }

    /// <summary>Asks the engine to stop the request at its next step (any thread).</summary>
    public void Cancel()
    {
        if (Done.Task.IsCompleted) return;
        _cancelRequested = true;
        _wake();
    }

    public GenerationUsage Usage()
    {
        long now = Stopwatch.GetTimestamp();
        double Ms(long from, long to) => from == 0 || to == 0 ? 0 : Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
        return new GenerationUsage(Prompt.Length, CachedPromptTokens, CompletionTokens, Ms(Submitted, Admitted), Ms(Submitted, FirstToken), Ms(Submitted, now), Preemptions);
    }
}
