using System.Runtime.InteropServices;
using SharpInfer.Kernels;
using SharpInfer.KvCache;
using SharpInfer.Tensors;
using SharpInfer.Threading;

namespace SharpInfer.Models.Parts;

/// <summary>
/// The working state of one forward pass, shared by the generic loop and the block parts: the residual stream and
/// every scratch buffer (sized once for the largest micro-batch and the widest layer of each kind, so a pass
/// allocates nothing), the tokens' ids, positions and sequences, the cache and its placement, the current layer, and
/// the dispatch of parallel work to whichever part asked for it.
/// </summary>
internal sealed unsafe class PassState : IDisposable
{
    private readonly GCHandle _self;
    private readonly List<NativeBuffer<float>> _buffers = new();

    public PassState(Network network, int maxTokens, int maxOutputs, ComputePool pool, int ropeSlots, MlaMode mla = MlaMode.Absorb)
    {
        var spec = network.Spec;
        Pool = pool;
        MaxTokens = maxTokens;
        MaxOutputs = maxOutputs;
        Embedding = spec.EmbeddingLength;
        Mla = mla;
        var attention = spec.Layers.Select(l => l.Attention).OfType<MultiHeadAttentionSpec>().ToArray();
        int queryWidth = attention.Length == 0 ? 0 : attention.Max(a => a.QueryWidth);
        int kWidth = attention.Length == 0 ? 0 : attention.Max(a => a.KWidth);
        int vWidth = attention.Length == 0 ? 0 : attention.Max(a => a.VWidth);
        int outWidth = spec.Layers.Max(l => l.Attention.OutputWidth);
        int hidden = spec.Layers.Max(l => l.FeedForward.HiddenWidth);
        MaxRopeDims = spec.Layers.Max(l => l.Attention.Rotary?.Rope.Dims ?? 0);
        RopeSlots = ropeSlots;
        int widest = new[] { Embedding, queryWidth, outWidth, hidden, kWidth, vWidth }.Max();
        // Parts with work of their own shape (latent attention, experts) say what they need beyond the common buffers.
        var needs = network.AttentionParts.Concat(network.FeedForwardParts).Select(p => p.Needs(maxTokens, mla)).ToArray();
        MatMul = new MatMul([(maxTokens, widest), .. needs.SelectMany(n => n.Products)], pool.ThreadCount);
        PartScratch = Buffer(needs.Max(n => n.ScratchFloats));
        int jobs = needs.Max(n => n.Jobs);
        JobWeights = new MatrixView[jobs];
        JobInputs = new PreparedActivations[jobs];
        JobOutputs = new nint[jobs];
        Experts = spec.HasExperts ? new ExpertUsage(spec, maxTokens) : null;
        X = Buffer((long)maxTokens * Embedding);
        Xn = Buffer((long)maxTokens * Embedding);
        Tmp = Buffer((long)maxTokens * Embedding);
        Q = Buffer((long)maxTokens * queryWidth);
        K = Buffer((long)maxTokens * kWidth);
        V = Buffer((long)maxTokens * vWidth);
        Attn = Buffer((long)maxTokens * outWidth);
        Gate = Buffer((long)maxTokens * hidden);
        Up = Buffer((long)maxTokens * hidden);
        Rope = Buffer((long)maxTokens * Math.Max(1, ropeSlots) * MaxRopeDims);
        AttentionScratchFloats = Math.Max(attention.Length == 0 ? 0 : attention.Max(a => FlashAttention.ScratchFloats(a.GroupSize, a.HeadDimK, a.HeadDimV)),
            needs.Max(n => n.ThreadScratchFloats)) + 16;
        AttentionScratch = Buffer(pool.ThreadCount * AttentionScratchFloats);
        OutHidden = Buffer((long)maxOutputs * Embedding);
        TokenSeq = new int[maxTokens];
        TokenPos = new int[maxTokens];
        TokenIds = new int[maxTokens];
        OutputIndex = new int[maxOutputs];
        BlockFirst = new int[maxTokens];
        BlockCount = new int[maxTokens];
        _self = GCHandle.Alloc(this);
    }

    public ComputePool Pool { get; }
    public MatMul MatMul { get; }

    /// <summary>How latent attention layers run (and so what their cache rows hold).</summary>
    public MlaMode Mla { get; }

    /// <summary>Scratch for the parts that declared some (<see cref="BlockPart.Needs"/>); each lays out its own.</summary>
    public NativeBuffer<float> PartScratch { get; }

    /// <summary>Room for a part's many-matrix products (<see cref="Kernels.MatMul.Multiply(ComputePool, ReadOnlySpan{MatrixView}, ReadOnlySpan{PreparedActivations}, ReadOnlySpan{nint})"/>).</summary>
    public MatrixView[] JobWeights { get; }
    public PreparedActivations[] JobInputs { get; }
    public nint[] JobOutputs { get; }

    /// <summary>Which experts the passes chose (null for models without experts).</summary>
    public ExpertUsage? Experts { get; }
    public int MaxTokens { get; }
    public int MaxOutputs { get; }
    public int Embedding { get; }

    /// <summary>Floats per token and RoPE slot in <see cref="Rope"/>.</summary>
    public int MaxRopeDims { get; }

    /// <summary>Distinct RoPE parameter sets (layers sharing one share its angle cache).</summary>
    public int RopeSlots { get; }

    public NativeBuffer<float> X { get; }
    public NativeBuffer<float> Xn { get; }
    public NativeBuffer<float> Tmp { get; }
    public NativeBuffer<float> Q { get; }
    public NativeBuffer<float> K { get; }
    public NativeBuffer<float> V { get; }
    public NativeBuffer<float> Attn { get; }
    public NativeBuffer<float> Gate { get; }
    public NativeBuffer<float> Up { get; }

    /// <summary>Per token, per RoPE slot: the (cos, sin) pairs of its position.</summary>
    public NativeBuffer<float> Rope { get; }
    public NativeBuffer<float> AttentionScratch { get; }
    public long AttentionScratchFloats { get; }
    public NativeBuffer<float> OutHidden { get; }

    public int[] TokenSeq { get; }
    public int[] TokenPos { get; }
    public int[] TokenIds { get; }
    public int[] OutputIndex { get; }

    /// <summary>Attention blocks: runs of consecutive tokens of one sequence (at most <see cref="FlashAttention.MaxTokens"/>).</summary>
    public int[] BlockFirst { get; }
    public int[] BlockCount { get; }
    public int Blocks { get; set; }

    public KvCacheSet? Cache { get; set; }
    public KvPlacement? Placement { get; set; }
    public int PlacementOffset { get; set; }

    /// <summary>Tokens in this micro-batch.</summary>
    public int Tokens { get; set; }

    /// <summary>The block being run.</summary>
    public int Layer { get; set; }

    /// <summary>The (cos, sin) cache of token <paramref name="token"/> for RoPE slot <paramref name="slot"/>.</summary>
    public float* RopeCache(int token, int slot) => Rope.Pointer + ((long)token * RopeSlots + slot) * MaxRopeDims;

    /// <summary>Bytes of scratch held.</summary>
    public long ScratchBytes => MatMul.ScratchBytes + _buffers.Sum(b => b.ByteSize);

    // --- parallel dispatch: a part hands itself and an operation code; the pool calls back Execute. ---

    private PassStage? _stage;
    private int _op;

    /// <summary>Runs <paramref name="stage"/>.Execute(op, i, thread) for i in [0, count) on the pool.</summary>
    public void Parallel(PassStage stage, int op, int count)
    {
        if (count <= 0) return;
        if (count == 1)
        {
            stage.Execute(this, op, 0, 0);
            return;
        }
        _stage = stage;
        _op = op;
        Pool.For(count, &Trampoline, (void*)GCHandle.ToIntPtr(_self));
    }

    private static void Trampoline(void* context, int index, int thread)
    {
        var state = (PassState)GCHandle.FromIntPtr((IntPtr)context).Target!;
        state._stage!.Execute(state, state._op, index, thread);
    }

    // --- phases: where a step's time goes (bench --phases). ---

    /// <summary>Phase names, in the order of <see cref="PhaseTicks"/>.</summary>
    public static readonly string[] PhaseNames = ["embed", "norms", "qkv", "rope+store", "attention", "attn-out", "ffn-up", "swiglu", "ffn-down",
        "router", "experts", "shared experts", "residual", "logits"];

    public const int PhaseEmbed = 0, PhaseNorms = 1, PhaseQkv = 2, PhaseRopeStore = 3, PhaseAttention = 4, PhaseAttentionOut = 5,
        PhaseFfnUp = 6, PhaseActivation = 7, PhaseFfnDown = 8, PhaseRouter = 9, PhaseExperts = 10, PhaseSharedExperts = 11,
        PhaseResidual = 12, PhaseLogits = 13;

    private readonly long[] _phaseTicks = new long[PhaseNames.Length];
    private long _mark;

    public long[] PhaseTicks => _phaseTicks;

    /// <summary>Starts timing a pass.</summary>
    public void StartClock() => _mark = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>Charges the time since the last mark to <paramref name="phase"/>.</summary>
    public void Phase(int phase)
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        _phaseTicks[phase] += now - _mark;
        _mark = now;
    }

    private NativeBuffer<float> Buffer(long floats)
    {
        var b = new NativeBuffer<float>(Math.Max(1, floats));
        _buffers.Add(b);
        return b;
    }

    public void Dispose()
    {
        if (_self.IsAllocated) _self.Free();
        MatMul.Dispose();
        foreach (var b in _buffers) b.Dispose();
    }
}

/// <summary>Something that runs work items on the pool through <see cref="PassState.Parallel"/>.</summary>
internal abstract class PassStage
{
    /// <summary>Work item <paramref name="index"/> of operation <paramref name="op"/>, on pool thread <paramref name="thread"/>.</summary>
    public abstract void Execute(PassState state, int op, int index, int thread);
}
