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

    public PassState(Network network, int maxTokens, int maxOutputs, ComputePool pool, MlaMode mla = MlaMode.Absorb)
    {
        var layout = ScratchLayout.For(network.Spec, maxTokens, maxOutputs, pool.ThreadCount, mla);
        Pool = pool;
        MaxTokens = maxTokens;
        MaxOutputs = maxOutputs;
        Embedding = layout.Embedding;
        Mla = mla;
        MaxRopeDims = layout.MaxRopeDims;
        RopeSlots = layout.RopeSlots;
        AttentionScratchFloats = layout.AttentionScratchFloats;
        JobWeights = new MatrixView[layout.Jobs];
        JobInputs = new PreparedActivations[layout.Jobs];
        JobOutputs = new nint[layout.Jobs];
        Experts = network.Spec.HasExperts ? new ExpertUsage(network.Spec, maxTokens) : null;
        try
        {
            MatMul = new MatMul(layout.Products, pool.ThreadCount);
            var floats = layout.BufferFloats().ToArray();
            X = Buffer(floats[0]);
            Xn = Buffer(floats[1]);
            Tmp = Buffer(floats[2]);
            Q = Buffer(floats[3]);
            K = Buffer(floats[4]);
            V = Buffer(floats[5]);
            Attn = Buffer(floats[6]);
            Gate = Buffer(floats[7]);
            Up = Buffer(floats[8]);
            Rope = Buffer(floats[9]);
            AttentionScratch = Buffer(floats[10]);
            OutHidden = Buffer(floats[11]);
            PartScratch = Buffer(floats[12]);
        }
        catch
        {
            Dispose();
            throw;
        }
        TokenSeq = new int[maxTokens];
        TokenPos = new int[maxTokens];
        TokenIds = new int[maxTokens];
        OutputIndex = new int[maxOutputs];
        BlockFirst = new int[maxTokens];
        BlockCount = new int[maxTokens];
        _self = GCHandle.Alloc(this);
    }

    public ComputePool Pool { get; }
    public MatMul MatMul { get; } = null!;

    /// <summary>How latent attention layers run (and so what their cache rows hold).</summary>
    public MlaMode Mla { get; }

    /// <summary>Scratch for the parts that declared some (<see cref="PartNeeds"/>, laid out by <see cref="ScratchLayout"/>); each lays out its own.</summary>
    public NativeBuffer<float> PartScratch { get; } = null!;

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

    public NativeBuffer<float> X { get; } = null!;
    public NativeBuffer<float> Xn { get; } = null!;
    public NativeBuffer<float> Tmp { get; } = null!;
    public NativeBuffer<float> Q { get; } = null!;
    public NativeBuffer<float> K { get; } = null!;
    public NativeBuffer<float> V { get; } = null!;
    public NativeBuffer<float> Attn { get; } = null!;
    public NativeBuffer<float> Gate { get; } = null!;
    public NativeBuffer<float> Up { get; } = null!;

    /// <summary>Per token, per RoPE slot: the (cos, sin) pairs of its position.</summary>
    public NativeBuffer<float> Rope { get; } = null!;
    public NativeBuffer<float> AttentionScratch { get; } = null!;
    public long AttentionScratchFloats { get; }
    public NativeBuffer<float> OutHidden { get; } = null!;

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
        MatMul?.Dispose();
        foreach (var b in _buffers) b.Dispose();
    }
}

/// <summary>Something that runs work items on the pool through <see cref="PassState.Parallel"/>.</summary>
internal abstract class PassStage
{
    /// <summary>Work item <paramref name="index"/> of operation <paramref name="op"/>, on pool thread <paramref name="thread"/>.</summary>
    public abstract void Execute(PassState state, int op, int index, int thread);
}
