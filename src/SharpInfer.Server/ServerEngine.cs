using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Templates;

namespace SharpInfer.Server;

/// <summary>The model, its context and scheduler, and the chat template, once loaded.</summary>
public sealed class LoadedModel : IAsyncDisposable
{
    internal LoadedModel(Model model, InferenceContext context, GenerationScheduler scheduler, ChatTemplate template, string name)
    {
        Model = model;
        Context = context;
        Scheduler = scheduler;
        Template = template;
        Name = name;
        Created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    }

    /// <summary>The model.</summary>
    public Model Model { get; }

    /// <summary>The context the scheduler owns.</summary>
    public InferenceContext Context { get; }

    /// <summary>The request scheduler.</summary>
    public GenerationScheduler Scheduler { get; }

    /// <summary>The chat template in use.</summary>
    public ChatTemplate Template { get; }

    /// <summary>The model id the API reports.</summary>
    public string Name { get; }

    /// <summary>Unix time the model was loaded.</summary>
    public long Created { get; }

    /// <summary>Stops the scheduler (cancelling what still runs), then frees the context and the model.</summary>
    public async ValueTask DisposeAsync()
    {
        await Scheduler.DisposeAsync().ConfigureAwait(false);
        Context.Dispose();
        Model.Dispose();
    }
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
        Model? model = null;
        InferenceContext? context = null;
        try
        {
            model = Model.Load(options.ModelPath, new ModelOptions { Warning = w => log.WriteLine($"warning: {w}") });
            var template = ChatTemplates.Resolve(model.File.Metadata, options.ChatTemplateFile, w => log.WriteLine($"warning: {w}"));
            context = model.CreateContext(new ContextOptions
            {
                ContextSize = options.ContextSize,
                Threads = options.Threads,
                MicroBatchSize = options.MicroBatchSize,
                TypeK = options.CacheTypeK,
                TypeV = options.CacheTypeV,
                MaxSequences = GenerationScheduler.RequiredSequences(options.Parallel),
                UnifiedKv = true,
            });
            var scheduler = new GenerationScheduler(context, new SchedulerOptions
            {
                MaxRunningSequences = options.Parallel,
                MaxQueuedRequests = options.MaxQueue,
                StepTokens = options.StepTokens,
                PrefixCache = options.PrefixCache,
                StepDelay = options.StepDelay,
            });
            string name = options.ModelAlias ?? Path.GetFileName(options.ModelPath);
            var loaded = new LoadedModel(model, context, scheduler, template, name);
            log.WriteLine(context.Kv.Describe());
            if (!scheduler.HasPrefixCache && options.PrefixCache) log.WriteLine("note: the prefix cache is off: this model's cache has sliding-window layers");
            log.WriteLine($"model loaded: {name} ({options.Parallel} parallel sequences, {context.Kv.Capacity} cells shared)");
            _loaded = loaded;
            _ready.TrySetResult(loaded);
        }
        catch (Exception e)
        {
            context?.Dispose();
            model?.Dispose();
            _failure = SharpInfer.Files.SafeText.Line(e.Message);
            _ready.TrySetException(e);
        }
    }
}
