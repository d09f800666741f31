using Microsoft.Extensions.AI;
using SharpInfer.Inference;
using SharpInfer.Models;

namespace SharpInfer;

/// <summary>
/// A <c>Microsoft.Extensions.AI</c> embedding generator that runs a GGUF model in this process: each text's
/// final-normed hidden states are pooled as the model declares (<c>{arch}.pooling_type</c>: mean, CLS or last; mean
/// when it declares none) and scaled to unit length. Embeddings run on the host's scheduler beside any generation, so
/// a chat client and an embedding generator over one <see cref="InferenceHost"/> share the model and the cores.
/// Thread-safe.
/// </summary>
public sealed class SharpInferEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly InferenceHost _host;
    private readonly bool _ownsHost;
    private readonly EmbeddingGeneratorMetadata _metadata;

    /// <summary>Loads the model at <paramref name="modelPath"/>; the generator owns it (disposing the generator frees it).</summary>
    public SharpInferEmbeddingGenerator(string modelPath, InferenceHostOptions? options = null)
        : this(InferenceHost.Load(modelPath, options), ownsHost: true, Path.GetFileName(modelPath))
    {
    }

    /// <summary>Runs an already loaded <paramref name="model"/> (which the caller keeps owning) on a host of its own.</summary>
    public SharpInferEmbeddingGenerator(Model model, InferenceHostOptions? options = null)
        : this(InferenceHost.Create(model, options), ownsHost: true, SharpInferChatClient.ModelName(model))
    {
    }

    /// <summary>Runs on <paramref name="host"/>, shared with other clients (the caller keeps owning the host).</summary>
    public SharpInferEmbeddingGenerator(InferenceHost host, string? modelId = null)
        : this(host, ownsHost: false, modelId ?? SharpInferChatClient.ModelName(host.Model))
    {
    }

    private SharpInferEmbeddingGenerator(InferenceHost host, bool ownsHost, string modelId)
    {
        _host = host;
        _ownsHost = ownsHost;
        _metadata = new EmbeddingGeneratorMetadata("sharpinfer", null, modelId, host.Context.EmbeddingLength);
    }

    /// <summary>The host the generator runs on.</summary>
    public InferenceHost Host => _host;

    /// <summary>Dimensions of every embedding (the model's embedding length).</summary>
    public int Dimensions => _host.Context.EmbeddingLength;

    /// <summary>
    /// One embedding per text, in order. <see cref="EmbeddingGenerationOptions.Dimensions"/> may only name the model's
    /// own width. Throws <see cref="ArgumentException"/> for a text with no tokens or longer than the context, and
    /// <see cref="NotSupportedException"/> for a reranking model.
    /// </summary>
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (options?.Dimensions is { } dimensions && dimensions != Dimensions)
        {
            throw new NotSupportedException($"this model's embeddings have {Dimensions} dimensions; {dimensions} were asked for");
        }
        var result = new GeneratedEmbeddings<Embedding<float>>();
        long tokens = 0;
        foreach (string value in values)
        {
            ArgumentNullException.ThrowIfNull(value, nameof(values));
            var embedding = await _host.EmbedAsync(value, cancellationToken).ConfigureAwait(false);
            tokens += embedding.Tokens;
            result.Add(new Embedding<float>(embedding.Vector) { ModelId = _metadata.DefaultModelId, CreatedAt = DateTimeOffset.UtcNow });
        }
        result.Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens };
        return result;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) => HostedServices.Find(serviceType, serviceKey, this, _metadata, _host);

    /// <summary>Frees the model and its context when the generator loaded or set them up itself.</summary>
    public void Dispose()
    {
        if (_ownsHost) _host.Dispose();
    }
}
