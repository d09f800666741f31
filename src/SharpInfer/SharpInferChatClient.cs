using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Sampling;

namespace SharpInfer;

/// <summary>
/// A <c>Microsoft.Extensions.AI</c> chat client that runs a GGUF model in this process. Messages go through the
/// model's chat template; generation runs on the continuous-batching <see cref="GenerationScheduler"/> of an
/// <see cref="InferenceHost"/>, so any number of concurrent callers of one client (or of several clients over one
/// host) share one model, one KV cache with its prefix cache, and one compute pool. Thread-safe.
/// <para>
/// <see cref="ChatOptions"/> map to the sampler: temperature, top-p, top-k, max output tokens, stop sequences, seed,
/// frequency and presence penalties; unset ones take llama.cpp's defaults (temperature 0.8, top-k 40, top-p 0.95,
/// min-p 0.05), as the server does. <see cref="ChatOptions.ResponseFormat"/> may be text only. Function tools are
/// rendered into the prompt where the template supports them; tool calls in the reply are not parsed (the reply is text).
/// </para>
/// </summary>
public sealed class SharpInferChatClient : IChatClient
{
    private readonly InferenceHost _host;
    private readonly bool _ownsHost;
    private readonly ChatClientMetadata _metadata;

    /// <summary>Loads the model at <paramref name="modelPath"/>; the client owns it (disposing the client frees it).</summary>
    public SharpInferChatClient(string modelPath, InferenceHostOptions? options = null)
        : this(InferenceHost.Load(modelPath, options), ownsHost: true, Path.GetFileName(modelPath))
    {
    }

    /// <summary>Runs an already loaded <paramref name="model"/> (which the caller keeps owning) on a host of its own.</summary>
    public SharpInferChatClient(Model model, InferenceHostOptions? options = null)
        : this(InferenceHost.Create(model, options), ownsHost: true, ModelName(model))
    {
    }

    /// <summary>Runs on <paramref name="host"/>, shared with other clients (the caller keeps owning the host).</summary>
    public SharpInferChatClient(InferenceHost host, string? modelId = null)
        : this(host, ownsHost: false, modelId ?? ModelName(host.Model))
    {
    }

    private SharpInferChatClient(InferenceHost host, bool ownsHost, string modelId)
    {
        _host = host;
        _ownsHost = ownsHost;
        _metadata = new ChatClientMetadata("sharpinfer", null, modelId);
    }

    /// <summary>The host the client runs on.</summary>
    public InferenceHost Host => _host;

    /// <summary>The model id responses report (the file name unless told otherwise).</summary>
    public string ModelId => _metadata.DefaultModelId!;

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var stream = Submit(messages, options, cancellationToken);
        var summary = await stream.CollectAsync(cancellationToken).ConfigureAwait(false);
        var choice = summary.Choices[0];
        var message = new ChatMessage(ChatRole.Assistant, choice.Text) { MessageId = NewId() };
        return new ChatResponse(message)
        {
            ResponseId = message.MessageId,
            ModelId = ModelId,
            CreatedAt = DateTimeOffset.UtcNow,
            FinishReason = FinishReason(choice.Reason, cancellationToken),
            Usage = Usage(summary.Usage),
        };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var stream = Submit(messages, options, cancellationToken);
        string id = NewId();
        var created = DateTimeOffset.UtcNow;
        ChatResponseUpdate Update(IList<AIContent> contents) => new(ChatRole.Assistant, contents)
        {
            ResponseId = id,
            MessageId = id,
            ModelId = ModelId,
            CreatedAt = created,
        };
        ChatFinishReason? finish = null;
        await foreach (var e in stream.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            switch (e)
            {
                case TokenGenerated { Text.Length: > 0 } t:
                    yield return Update([new TextContent(t.Text)]);
                    break;
                case ChoiceFinished f:
                    finish = FinishReason(f.Reason, cancellationToken);
                    if (f.Text.Length > 0) yield return Update([new TextContent(f.Text)]);
                    break;
                case GenerationCompleted done:
                    var last = Update([new UsageContent(Usage(done.Usage))]);
                    last.FinishReason = finish;
                    yield return last;
                    break;
            }
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) => HostedServices.Find(serviceType, serviceKey, this, _metadata, _host);

    /// <summary>Frees the model and its context when the client loaded or set them up itself.</summary>
    public void Dispose()
    {
        if (_ownsHost) _host.Dispose();
    }

    private GenerationStream Submit(IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (options?.ResponseFormat is not (null or ChatResponseFormatText))
        {
            throw new NotSupportedException("SharpInfer answers in plain text only: a JSON response format needs constrained sampling, which it does not have");
        }
        string text = _host.RenderChat(ChatMessageJson.Messages(messages, options?.Instructions), ChatMessageJson.Tools(options?.Tools));
        var request = new GenerationRequest
        {
            PromptTokens = _host.TokenizeChatPrompt(text),
            MaxTokens = options?.MaxOutputTokens ?? -1,
            Sampling = Sampling(options),
            StopStrings = options?.StopSequences?.ToArray() ?? [],
        };
        if (request.MaxTokens is 0 or < -1) throw new ArgumentException($"MaxOutputTokens must be positive (got {options!.MaxOutputTokens})");
        return _host.Scheduler.Submit(request, cancellation);
    }

    /// <summary>The sampler settings of <paramref name="options"/>, llama.cpp's defaults where unset.</summary>
    internal static SamplingOptions Sampling(ChatOptions? options)
    {
        var defaults = new SamplingOptions();
        if (options is null) return defaults;
        return defaults with
        {
            Temperature = options.Temperature ?? defaults.Temperature,
            TopP = options.TopP ?? defaults.TopP,
            TopK = options.TopK ?? defaults.TopK,
            FrequencyPenalty = options.FrequencyPenalty ?? defaults.FrequencyPenalty,
            PresencePenalty = options.PresencePenalty ?? defaults.PresencePenalty,
            Seed = options.Seed is { } seed ? unchecked((ulong)seed) : null,
        };
    }

    private static ChatFinishReason FinishReason(StopReason reason, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        return reason switch
        {
            StopReason.EndOfGeneration or StopReason.StopString => ChatFinishReason.Stop,
            StopReason.TokenLimit or StopReason.ContextFull => ChatFinishReason.Length,
            _ => throw new OperationCanceledException("the generation was cancelled: the model's scheduler is shutting down"),
        };
    }

    private static UsageDetails Usage(GenerationUsage usage) => new()
    {
        InputTokenCount = usage.PromptTokens,
        OutputTokenCount = usage.CompletionTokens,
        TotalTokenCount = usage.TotalTokens,
        CachedInputTokenCount = usage.CachedPromptTokens,
    };

    private static string NewId() => "chatcmpl-" + Guid.NewGuid().ToString("N");

    internal static string ModelName(Model model) => model.File.Path is { } path ? Path.GetFileName(path) : model.Architecture;
}
