using System.Text.Json.Nodes;
using SharpInfer.Models;
using SharpInfer.Templates;
using SharpInfer.Tensors;

namespace SharpInfer.Inference;

/// <summary>How an <see cref="InferenceHost"/> sizes its context and shares it.</summary>
public sealed record InferenceHostOptions
{
    /// <summary>KV cache cells shared by all sequences (0: the model's training context, at most 4096).</summary>
    public int ContextSize { get; init; }

    /// <summary>Compute threads (0: the physical cores this process may use).</summary>
    public int Threads { get; init; }

    /// <summary>Tokens per forward pass.</summary>
    public int MicroBatchSize { get; init; } = 512;

    /// <summary>Tokens evaluated per scheduler step at most (0: the micro-batch size).</summary>
    public int StepTokens { get; init; }

    /// <summary>Sequences decoded together at most (a request with n choices takes n); more requests queue.</summary>
    public int Parallel { get; init; } = 4;

    /// <summary>Requests that may wait beyond the running ones before new ones are refused.</summary>
    public int MaxQueue { get; init; } = 64;

    /// <summary>Key storage type.</summary>
    public GgmlType CacheTypeK { get; init; } = GgmlType.F16;

    /// <summary>Value storage type.</summary>
    public GgmlType CacheTypeV { get; init; } = GgmlType.F16;

    /// <summary>Keep evaluated prefixes for later requests.</summary>
    public bool PrefixCache { get; init; } = true;

    /// <summary>Keep sliding-window caches at full context size (see <see cref="ContextOptions.SwaFull"/>).</summary>
    public bool SwaFull { get; init; }

    /// <summary>How Multi-head Latent Attention runs (see <see cref="ContextOptions.Mla"/>).</summary>
    public MlaMode Mla { get; init; } = MlaMode.Absorb;

    /// <summary>A Jinja chat template file that replaces the model's own (null: the model's, or ChatML).</summary>
    public string? ChatTemplateFile { get; init; }

    /// <summary>Hears warnings (a missing chat template, an unknown pre-tokenizer); null: they are dropped.</summary>
    public Action<string>? Warning { get; init; }

    /// <summary>A pause after every scheduler step (tests that interrupt a generation by hand).</summary>
    internal TimeSpan StepDelay { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first unusable setting.</summary>
    public void Validate()
    {
        if (Parallel is < 1 or > 253) throw new ArgumentException($"parallel sequences must be 1..253 (got {Parallel})");
        if (MaxQueue < 0) throw new ArgumentException($"the queue limit must not be negative (got {MaxQueue})");
        if (ContextSize < 0) throw new ArgumentException($"the context size must not be negative (got {ContextSize})");
        if (Threads < 0) throw new ArgumentException($"the thread count must not be negative (got {Threads})");
        if (MicroBatchSize < 1) throw new ArgumentException($"the micro-batch size must be positive (got {MicroBatchSize})");
        if (StepTokens < 0) throw new ArgumentException($"the step token budget must not be negative (got {StepTokens})");
    }
}

/// <summary>
/// One model set up for many callers: its context (one KV cache, one compute pool), the continuous-batching
/// <see cref="GenerationScheduler"/> that owns that context, the chat template, and the tokenization rules of chat
/// prompts and embedding inputs. The server and the <c>Microsoft.Extensions.AI</c> clients run on it, so every
/// caller in a process shares the model, the cache and the cores. Thread-safe.
/// </summary>
public sealed class InferenceHost : IAsyncDisposable, IDisposable
{
    private readonly bool _ownsModel;
    private readonly Lazy<PoolingType> _pooling;
    private int _disposed;

    private InferenceHost(Model model, bool ownsModel, InferenceContext context, GenerationScheduler scheduler, ChatTemplate template)
    {
        Model = model;
        _ownsModel = ownsModel;
        Context = context;
        Scheduler = scheduler;
        Template = template;
        _pooling = new Lazy<PoolingType>(() => EmbeddingPooling.FromMetadata(model.File.Metadata, model.Architecture));
    }

    /// <summary>Loads the model at <paramref name="modelPath"/> and sets it up; the host owns the model.</summary>
    public static InferenceHost Load(string modelPath, InferenceHostOptions? options = null)
    {
        options ??= new InferenceHostOptions();
        options.Validate();
        var warning = options.Warning;
        var model = Model.Load(modelPath, new ModelOptions { Warning = warning is null ? null : w => warning(w) });
        try
        {
            return Create(model, options, ownsModel: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Sets up an already loaded <paramref name="model"/>; the caller keeps owning it (dispose it after the host).</summary>
    public static InferenceHost Create(Model model, InferenceHostOptions? options = null) => Create(model, options ?? new InferenceHostOptions(), ownsModel: false);

    private static InferenceHost Create(Model model, InferenceHostOptions options, bool ownsModel)
    {
        ArgumentNullException.ThrowIfNull(model);
        options.Validate();
        var template = ChatTemplates.Resolve(model.File.Metadata, options.ChatTemplateFile, options.Warning);
        var context = model.CreateContext(new ContextOptions
        {
            ContextSize = options.ContextSize,
            Threads = options.Threads,
            MicroBatchSize = options.MicroBatchSize,
            TypeK = options.CacheTypeK,
            TypeV = options.CacheTypeV,
            MaxSequences = GenerationScheduler.RequiredSequences(options.Parallel),
            UnifiedKv = true,
            SwaFull = options.SwaFull,
            Mla = options.Mla,
        });
        try
        {
            var scheduler = new GenerationScheduler(context, new SchedulerOptions
            {
                MaxRunningSequences = options.Parallel,
                MaxQueuedRequests = options.MaxQueue,
                StepTokens = options.StepTokens,
                PrefixCache = options.PrefixCache,
                StepDelay = options.StepDelay,
            });
            return new InferenceHost(model, ownsModel, context, scheduler, template);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>The model.</summary>
    public Model Model { get; }

    /// <summary>The context the scheduler owns (read its options and cache; do not decode on it).</summary>
    public InferenceContext Context { get; }

    /// <summary>The request scheduler: generations and embeddings of every caller.</summary>
    public GenerationScheduler Scheduler { get; }

    /// <summary>The chat template in use.</summary>
    public ChatTemplate Template { get; }

    /// <summary>
    /// The pooling embeddings use (what the model declares, or mean); <see cref="NotSupportedException"/> for a
    /// reranking model.
    /// </summary>
    public PoolingType Pooling => _pooling.Value;

    /// <summary>
    /// Renders a conversation through the chat template: <paramref name="messages"/> are <c>{role, content, …}</c>
    /// objects as the template expects them, <paramref name="tools"/> OpenAI-style tool definitions (or null).
    /// Throws <see cref="TemplateException"/> when the template refuses the conversation.
    /// </summary>
    public string RenderChat(JsonArray messages, JsonArray? tools = null, bool addGenerationPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var vocab = Model.Tokenizer.Vocabulary;
        return Template.Render(new ChatTemplateInput
        {
            Messages = messages,
            AddGenerationPrompt = addGenerationPrompt,
            BosToken = vocab.Bos >= 0 ? vocab.TokenText(vocab.Bos) : "",
            EosToken = vocab.Eos >= 0 ? vocab.TokenText(vocab.Eos) : "",
            Tools = tools,
        });
    }

    /// <summary>Tokenizes a rendered chat prompt (<see cref="Tokenization.Tokenizer.TokenizeChatPrompt"/>).</summary>
    public int[] TokenizeChatPrompt(string text) => Model.Tokenizer.TokenizeChatPrompt(text);

    /// <summary>
    /// Tokenizes an embedding input as llama.cpp does: with the model's BOS/EOS as its metadata asks, special-token
    /// text left as plain text.
    /// </summary>
    public int[] TokenizeEmbeddingInput(string text) => Model.Tokenizer.Tokenize(text, addSpecial: true, parseSpecial: false);

    /// <summary>The embedding of <paramref name="text"/> (see <see cref="GenerationScheduler.EmbedAsync"/>).</summary>
    public Task<EmbeddingResult> EmbedAsync(string text, CancellationToken cancellation = default) =>
        Scheduler.EmbedAsync(TokenizeEmbeddingInput(text), Pooling, cancellation);

    /// <summary>Stops the scheduler (cancelling what still runs), then frees the context, and the model if the host owns it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await Scheduler.DisposeAsync().ConfigureAwait(false);
        Context.Dispose();
        if (_ownsModel) Model.Dispose();
    }

    /// <summary>As <see cref="DisposeAsync"/>, waiting for the scheduler's thread to stop.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
