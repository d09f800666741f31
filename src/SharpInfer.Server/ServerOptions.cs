using SharpInfer.Inference;
using SharpInfer.Tensors;

namespace SharpInfer.Server;

/// <summary>How <c>sharpinfer serve</c> runs: the model, the address, the cache and the limits.</summary>
public sealed record ServerOptions
{
    /// <summary>The GGUF model to serve.</summary>
    public required string ModelPath { get; init; }

    /// <summary>Name the API reports for the model (null: the file name).</summary>
    public string? ModelAlias { get; init; }

    /// <summary>Address to listen on: loopback unless told otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Port (0: any free port; <see cref="InferenceServer.Address"/> says which).</summary>
    public int Port { get; init; } = 8080;

    /// <summary>Sequences decoded together at most (a request with n choices takes n); more requests queue.</summary>
    public int Parallel { get; init; } = 4;

    /// <summary>Requests that may wait beyond the running ones; one more is answered 503 with Retry-After.</summary>
    public int MaxQueue { get; init; } = 64;

    /// <summary>KV cache cells shared by all sequences (0: the model's training context, at most 4096).</summary>
    public int ContextSize { get; init; }

    /// <summary>Compute threads (0: physical cores).</summary>
    public int Threads { get; init; }

    /// <summary>Tokens per forward pass.</summary>
    public int MicroBatchSize { get; init; } = 512;

    /// <summary>Tokens evaluated per scheduler step at most (0: the micro-batch size).</summary>
    public int StepTokens { get; init; }

    /// <summary>Key storage type.</summary>
    public GgmlType CacheTypeK { get; init; } = GgmlType.F16;

    /// <summary>Value storage type.</summary>
    public GgmlType CacheTypeV { get; init; } = GgmlType.F16;

    /// <summary>Keep evaluated prefixes for later requests.</summary>
    public bool PrefixCache { get; init; } = true;

    /// <summary>Keep sliding-window caches at full context size (<c>--swa-full</c>).</summary>
    public bool SwaFull { get; init; }

    /// <summary>How Multi-head Latent Attention runs (<c>--mla</c>; DeepSeek-V2/V3 only).</summary>
    public SharpInfer.Models.MlaMode Mla { get; init; } = SharpInfer.Models.MlaMode.Absorb;

    /// <summary>A Bearer key every API request must carry (null: none).</summary>
    public string? ApiKey { get; init; }

    /// <summary>A Jinja chat template file that replaces the model's own.</summary>
    public string? ChatTemplateFile { get; init; }

    /// <summary>Folder for slot state files (null: slot save and restore are off).</summary>
    public string? SlotSavePath { get; init; }

    /// <summary>Largest request body in bytes; a larger one is answered 413.</summary>
    public long MaxBodyBytes { get; init; } = 8 << 20;

    /// <summary>On shutdown (SIGTERM, Ctrl+C), how long running requests may go on before they are cancelled.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A pause after every scheduler step (tests that interrupt a generation by hand).</summary>
    internal TimeSpan StepDelay { get; init; }

    /// <summary>The engine settings these options give (warnings go to <paramref name="warning"/>).</summary>
    public InferenceHostOptions HostOptions(Action<string>? warning) => new()
    {
        ContextSize = ContextSize,
        Threads = Threads,
        MicroBatchSize = MicroBatchSize,
        StepTokens = StepTokens,
        Parallel = Parallel,
        MaxQueue = MaxQueue,
        CacheTypeK = CacheTypeK,
        CacheTypeV = CacheTypeV,
        PrefixCache = PrefixCache,
        SwaFull = SwaFull,
        Mla = Mla,
        ChatTemplateFile = ChatTemplateFile,
        Warning = warning,
        StepDelay = StepDelay,
    };

    /// <summary>The address to listen on: <see cref="Host"/> as an IP address (<c>localhost</c> is the IPv4 loopback).</summary>
    public System.Net.IPAddress HostAddress()
    {
        if (Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return System.Net.IPAddress.Loopback;
        return System.Net.IPAddress.TryParse(Host, out var ip) ? ip : throw new ArgumentException($"--host must be an IP address or localhost (got '{SharpInfer.Files.SafeText.Line(Host)}')");
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first unusable setting.</summary>
    public void Validate()
    {
        HostAddress();
        if (string.IsNullOrWhiteSpace(ModelPath)) throw new ArgumentException("a model is required (-m FILE)");
        if (Port is < 0 or > 65535) throw new ArgumentException($"--port must be 0..65535 (got {Port})");
        if (Parallel is < 1 or > 253) throw new ArgumentException($"--parallel must be 1..253 (got {Parallel})");
        if (MaxQueue < 0) throw new ArgumentException($"--max-queue must not be negative (got {MaxQueue})");
        if (ContextSize < 0) throw new ArgumentException($"--ctx-size must be positive (got {ContextSize})");
        if (Threads < 0) throw new ArgumentException($"--threads must be positive (got {Threads})");
        if (MicroBatchSize < 1) throw new ArgumentException($"--ubatch-size must be positive (got {MicroBatchSize})");
        if (StepTokens < 0) throw new ArgumentException($"--batch-size must be positive (got {StepTokens})");
        if (MaxBodyBytes < 1024) throw new ArgumentException($"--max-body must be at least 1024 bytes (got {MaxBodyBytes})");
        if (ApiKey is { Length: 0 }) throw new ArgumentException("--api-key must not be empty");
        if (ShutdownGrace < TimeSpan.Zero) throw new ArgumentException("the shutdown grace period must not be negative");
    }
}
