using System.CommandLine;
using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Tensors;

namespace SharpInfer.Cli.Commands;

/// <summary>Options shared by the commands that load a model and evaluate it.</summary>
internal sealed class CommonOptions(GgmlType defaultCacheType = GgmlType.F16)
{
    private readonly GgmlType _defaultCacheType = defaultCacheType;

    public Option<string> Model { get; } = new("--model", "-m") { Description = "GGUF model file, or a pulled model's owner/repo[:FILE]", Required = true };
    public Option<int> Threads { get; } = new("--threads", "-t") { Description = "compute threads (default: physical cores)" };
    public Option<int> Context { get; } = new("--ctx-size", "-c") { Description = "KV cache cells (default: the model's training context, at most 4096)" };
    public Option<int> MicroBatch { get; } = new("--ubatch-size", "-ub") { Description = "tokens per forward pass", DefaultValueFactory = _ => 512 };
    public Option<string?> CacheTypeK { get; } = new("--cache-type-k", "-ctk") { Description = $"K cache type: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl (default: {defaultCacheType.ToString().ToLowerInvariant()})" };
    public Option<string?> CacheTypeV { get; } = new("--cache-type-v", "-ctv") { Description = $"V cache type, same choices (default: {defaultCacheType.ToString().ToLowerInvariant()})" };
    public Option<bool> SwaFull { get; } = new("--swa-full") { Description = "keep sliding-window caches at full context size (default: recycle cells that left every window)" };
    public Option<string?> Mla { get; } = MlaOption();

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Model, Threads, Context, MicroBatch, CacheTypeK, CacheTypeV, SwaFull, Mla }) command.Options.Add(o);
    }

    /// <summary>The <c>--mla</c> option: how Multi-head Latent Attention runs (DeepSeek-V2/V3; other models ignore it).</summary>
    public static Option<string?> MlaOption() => new("--mla")
    {
        Description = "Multi-head Latent Attention (DeepSeek-V2/V3): absorb (default; the cache holds the latent rows) or naive (decompressed per-head keys and values)",
    };

    public static MlaMode ParseMla(string? name) => name?.ToLowerInvariant() switch
    {
        null or "absorb" => MlaMode.Absorb,
        "naive" => MlaMode.Naive,
        _ => throw new UsageException($"--mla: unknown mode {Files.SafeText.Quote(name)} (supported: absorb, naive)"),
    };

    public static GgmlType ParseCacheType(string? name, GgmlType fallback, string option)
    {
        if (name is null) return fallback;
        if (GgmlTypeInfo.TryParse(name, out var type) && SharpInfer.KvCache.KvCacheOptions.SupportedTypes.Contains(type)) return type;
        throw new UsageException($"{option}: unknown cache type '{name}' (supported: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl)");
    }

    public ContextOptions ContextOptions(ParseResult parse, CliIO io, int sequences = 1, bool unified = true)
    {
        int threads = CheckThreads(parse.GetValue(Threads), io);
        int ctx = parse.GetValue(Context);
        int ubatch = parse.GetValue(MicroBatch);
        if (ctx is < 0 or > SharpInfer.KvCache.KvCacheGroup.MaxCells) throw new UsageException($"--ctx-size must be 1..{SharpInfer.KvCache.KvCacheGroup.MaxCells}, or 0 for the model's training context (got {ctx})");
        if (ubatch < 1) throw new UsageException($"--ubatch-size must be positive (got {ubatch})");
        return new ContextOptions
        {
            Threads = threads,
            ContextSize = ctx,
            MicroBatchSize = ubatch,
            TypeK = ParseCacheType(parse.GetValue(CacheTypeK), _defaultCacheType, "--cache-type-k"),
            TypeV = ParseCacheType(parse.GetValue(CacheTypeV), _defaultCacheType, "--cache-type-v"),
            MaxSequences = sequences,
            UnifiedKv = unified,
            SwaFull = parse.GetValue(SwaFull),
            Mla = ParseMla(parse.GetValue(Mla)),
        };
    }

    /// <summary>Most compute threads accepted (as llama.cpp's GGML_MAX_N_THREADS).</summary>
    public const int MaxThreads = 512;

    /// <summary>
    /// A <c>-t</c> value checked: 0 (the default: physical cores this process may use) or 1..<see cref="MaxThreads"/>;
    /// a warning when it exceeds the CPUs the process may use, where extra threads only wait for a core.
    /// </summary>
    public static int CheckThreads(int threads, CliIO io)
    {
        if (threads is < 0 or > MaxThreads) throw new UsageException($"--threads must be 1..{MaxThreads}, or 0 for the default (got {threads})");
        int usable = SharpInfer.Threading.CpuTopology.UsableCpus;
        if (threads > usable)
        {
            io.Err.WriteLine($"warning: -t {threads} is more threads than the {usable} CPUs this process may use; the extra threads wait for a core (default: {SharpInfer.Threading.CpuTopology.PhysicalCores})");
        }
        return threads;
    }

    /// <summary>
    /// The file a <c>-m</c> argument means: a file as given, or a model pulled into the model folder named
    /// <c>owner/repo[:FILE]</c> (see <see cref="SharpInfer.Hub.ModelStore.Resolve"/>).
    /// </summary>
    public static string ResolveModel(string model)
    {
        try
        {
            return SharpInfer.Hub.ModelStore.Default().Resolve(model);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    public static Model LoadModel(string path, CliIO io, out double loadMs)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var model = SharpInfer.Models.Model.Load(ResolveModel(path), new ModelOptions { Warning = w => io.Err.WriteLine($"warning: {w}") });
        WeightsPrefetch.Run(model, io);
        loadMs = clock.Elapsed.TotalMilliseconds;
        return model;
    }

    /// <summary>
    /// After a run has read the weights: one note on stderr when most of them sit in 4 KiB pages although the system
    /// has huge pages, which is how the page cache keeps a file a program has just written (a copy, a download) and
    /// costs decode speed; evicting the file once lets the next run read it back in 2 MiB pages.
    /// </summary>
    public static void NoteSmallPages(SharpInfer.Models.Model model, CliIO io)
    {
        var file = model.File;
        if (SmallPagesNote(file.Path, file.TensorBytes, file.BytesInHugePages, SharpInfer.Gguf.GgufFile.HugePagesAvailable) is { } note)
        {
            io.Err.WriteLine(note);
        }
    }

    /// <summary>The note of <see cref="NoteSmallPages"/>, or null: weights under 64 MiB never get one.</summary>
    internal static string? SmallPagesNote(string? path, long weightBytes, long? hugeBytes, bool hugePagesAvailable)
    {
        const long MiB = 1 << 20;
        if (path is null || weightBytes < 64 * MiB || !hugePagesAvailable || hugeBytes is not long huge || huge >= weightBytes / 2) return null;
        return $"note: {huge / MiB} of {weightBytes / MiB} MiB of weights are in 2 MiB pages; the page cache holds the rest of the file in 4 KiB pages, " +
            $"as a copy or download leaves it, which slows decode (evict it once, `dd if={path} iflag=nocache count=0`, and the next run reads it in huge pages)";
    }

    public static string ReadPrompt(string? prompt, string? file)
    {
        if ((prompt is null) == (file is null)) throw new UsageException("give exactly one of -p/--prompt or -f/--file");
        return prompt ?? File.ReadAllText(file!);
    }
}
