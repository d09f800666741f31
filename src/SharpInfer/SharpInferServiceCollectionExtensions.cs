using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SharpInfer.Inference;
using SharpInfer.Tensors;

namespace SharpInfer;

/// <summary>What <see cref="SharpInferServiceCollectionExtensions.AddSharpInfer"/> registers: the model and how it is run.</summary>
public sealed class SharpInferOptions
{
    /// <summary>The GGUF model file (required).</summary>
    public string ModelPath { get; set; } = "";

    /// <summary>The model id responses report (null: the file name).</summary>
    public string? ModelId { get; set; }

    /// <summary>KV cache cells shared by all callers (0: the model's training context, at most 4096).</summary>
    public int ContextSize { get; set; }

    /// <summary>Compute threads (0: the physical cores this process may use).</summary>
    public int Threads { get; set; }

    /// <summary>Sequences generated together at most; more requests queue.</summary>
    public int Parallel { get; set; } = 4;

    /// <summary>Requests that may wait beyond the running ones before new ones are refused.</summary>
    public int MaxQueue { get; set; } = 64;

    /// <summary>Tokens per forward pass.</summary>
    public int MicroBatchSize { get; set; } = 512;

    /// <summary>Key storage type of the KV cache.</summary>
    public GgmlType CacheTypeK { get; set; } = GgmlType.F16;

    /// <summary>Value storage type of the KV cache.</summary>
    public GgmlType CacheTypeV { get; set; } = GgmlType.F16;

    /// <summary>Keep evaluated prefixes (system prompts, earlier turns) for later requests.</summary>
    public bool PrefixCache { get; set; } = true;

    /// <summary>A Jinja chat template file that replaces the model's own.</summary>
    public string? ChatTemplateFile { get; set; }

    /// <summary>Hears load warnings (a missing chat template, an unknown pre-tokenizer).</summary>
    public Action<string>? Warning { get; set; }

    /// <summary>The host settings these options give.</summary>
    public InferenceHostOptions ToHostOptions() => new()
    {
        ContextSize = ContextSize,
        Threads = Threads,
        Parallel = Parallel,
        MaxQueue = MaxQueue,
        MicroBatchSize = MicroBatchSize,
        CacheTypeK = CacheTypeK,
        CacheTypeV = CacheTypeV,
        PrefixCache = PrefixCache,
        ChatTemplateFile = ChatTemplateFile,
        Warning = Warning,
    };
}

/// <summary>Registers SharpInfer with <c>Microsoft.Extensions.DependencyInjection</c>.</summary>
public static class SharpInferServiceCollectionExtensions
{
    /// <summary>
    /// Registers, as singletons sharing one model, context and scheduler: the <see cref="InferenceHost"/> (the model is
    /// loaded when it is first resolved, and freed with the service provider), <see cref="SharpInferChatClient"/> as
    /// <see cref="IChatClient"/>, and <see cref="SharpInferEmbeddingGenerator"/> as
    /// <c>IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;</c>. Services already registered for those
    /// interfaces are kept.
    /// </summary>
    public static IServiceCollection AddSharpInfer(this IServiceCollection services, Action<SharpInferOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new SharpInferOptions();
        configure(options);
        if (string.IsNullOrWhiteSpace(options.ModelPath)) throw new ArgumentException("SharpInferOptions.ModelPath is required");
        var hostOptions = options.ToHostOptions();
        hostOptions.Validate();
        string modelId = options.ModelId ?? Path.GetFileName(options.ModelPath);
        services.TryAddSingleton(options);
        services.TryAddSingleton(_ => InferenceHost.Load(options.ModelPath, hostOptions));
        services.TryAddSingleton(sp => new SharpInferChatClient(sp.GetRequiredService<InferenceHost>(), modelId));
        services.TryAddSingleton(sp => new SharpInferEmbeddingGenerator(sp.GetRequiredService<InferenceHost>(), modelId));
        services.TryAddSingleton<IChatClient>(sp => sp.GetRequiredService<SharpInferChatClient>());
        services.TryAddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(sp => sp.GetRequiredService<SharpInferEmbeddingGenerator>());
        return services;
    }
}
