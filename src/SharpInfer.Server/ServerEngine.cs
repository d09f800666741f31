using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Templates;

namespace SharpInfer.Server;

/// <summary>The engine host (model, context, scheduler, chat template) and the name the API reports, once loaded.</summary>
public sealed class LoadedModel : IAsyncDisposable
{
    internal LoadedModel(InferenceHost host, string name)
    {
        Host = host;
        Name = name;
        Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    /// <summary>The model set up for many callers.</summary>
    public InferenceHost Host { get; }

    /// <summary>The model.</summary>
    public Model Model => Host.Model;

    /// <summary>The context the scheduler owns.</summary>
    public InferenceContext Context => Host.Context;

    /// <summary>The request scheduler.</summary>
    public GenerationScheduler Scheduler => Host.Scheduler;

    /// <summary>The chat template in use.</summary>
    public ChatTemplate Template => Host.Template;

    /// <summary>The model id the API reports.</summary>
    public string Name { get; }

    /// <summary>Unix time the model was loaded.</summary>
    public long Created { get; }

    /// <summary>Stops the scheduler (cancelling what still runs), then frees the context and the model.</summary>
    public ValueTask DisposeAsync() => Host.DisposeAsync();
}

/// <summary>Loads the model in the background so the server can answer <c>/health</c> (503) meanwhile.</summary>
internal sealed class ServerEngine(ServerOptions options, TextWriter log, Task? loadGate = null)
{
    private volatile LoadedModel? _loaded;
    private volatile string? _failure;

    /// <summary>The loaded model, or null while loading (or after a failure).</summary>
    public LoadedModel? Loaded => _loaded;

    /// <summary>Why loading failed, or null.</summary>
    public string? Failure => _failure;

    /// <summary>Completes when the model is ready; faults with the load error.</summary>
    public Task<LoadedModel> Ready => _ready.Task;

    private readonly TaskCompletionSource<LoadedModel> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Loads on a worker thread (after <c>loadGate</c> completes, which tests use to hold the server in its loading state).</summary>
    public void StartLoading() => _ = Task.Run(async () =>
    {
        if (loadGate is not null) await loadGate.ConfigureAwait(false);
        Load();
    });

    private void Load()
    {
        try
        {
            var host = InferenceHost.Load(options.ModelPath, options.HostOptions(w => log.WriteLine($"warning: {w}")));
            string name = options.ModelAlias ?? Path.GetFileName(options.ModelPath);
            var loaded = new LoadedModel(host, name);
            log.WriteLine(host.Context.Kv.Describe());
            if (!host.Scheduler.HasPrefixCache && options.PrefixCache) log.WriteLine("note: the prefix cache is off: this model's cache has sliding-window layers");
            log.WriteLine($"model loaded: {name} ({options.Parallel} parallel sequences, {host.Context.Kv.Capacity} cells shared)");
            _loaded = loaded;
            _ready.TrySetResult(loaded);
        }
        catch (Exception e)
        {
            _failure = SharpInfer.Files.SafeText.Line(e.Message);
            _ready.TrySetException(e);
        }
    }
}
