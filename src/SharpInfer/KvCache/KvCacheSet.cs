using SharpInfer.Kernels;
using SharpInfer.Threading;

namespace SharpInfer.KvCache;

/// <summary>A layer's cached row shape, attention window and key rotation.</summary>
/// <param name="Shape">Row widths.</param>
/// <param name="SlidingWindow">Window in positions, 0 for full attention.</param>
/// <param name="WindowType">How the window is measured.</param>
/// <param name="Rotation">How the layer's keys were rotated, for K-shift; null when they cannot be moved.</param>
public readonly record struct KvLayerSpec(KvLayerShape Shape, int SlidingWindow = 0, SlidingWindowType WindowType = SlidingWindowType.Standard,
    KvRotation? Rotation = null);

/// <summary>
/// Which part of a cached K row carries RoPE and with what parameters: <paramref name="Heads"/> heads of
/// <paramref name="HeadDim"/> values starting at element <paramref name="Offset"/>, each rotated on its first
/// <see cref="RopeParameters.Dims"/> values (a latent MLA row rotates only its k_pe tail: one head at an offset).
/// </summary>
public sealed record KvRotation(RopeParameters Rope, int Heads, int HeadDim, int Offset);

/// <summary>The cells a batch's tokens received in each group of a <see cref="KvCacheSet"/>.</summary>
public sealed class KvPlacement
{
    /// <summary>Creates room for <paramref name="capacity"/> tokens in <paramref name="groups"/> groups.</summary>
    public KvPlacement(int groups, int capacity)
    {
        Streams = new int[groups][];
        Cells = new int[groups][];
        for (int g = 0; g < groups; g++)
        {
            Streams[g] = new int[capacity];
            Cells[g] = new int[capacity];
        }
    }

    /// <summary>Per group, each token's pool.</summary>
    public int[][] Streams { get; }

    /// <summary>Per group, each token's cell.</summary>
    public int[][] Cells { get; }

    /// <summary>Tokens the placement can hold.</summary>
    public int Capacity => Cells.Length == 0 ? 0 : Cells[0].Length;
}

/// <summary>
/// The whole KV cache of a model: layers grouped by attention window, each group a <see cref="KvCache"/> with its own
/// cells. Full-attention layers share one group sized to the context; each distinct window gets a small group of
/// a window per sequence (of each pool) plus one micro-batch of cells, whose out-of-window cells are recycled
/// (context-sized with <see cref="KvCacheOptions.RecycleWindowCells"/> off). Sequence operations apply to every group.
/// </summary>
public sealed class KvCacheSet : IDisposable
{
    private readonly KvCacheGroup[] _groups;
    private readonly (int Group, int Local)[] _layers;

    /// <summary>Builds the groups; <paramref name="options"/> gives cells, types and sequences for the full-attention group.</summary>
    public KvCacheSet(KvCacheOptions options, IReadOnlyList<KvLayerSpec> layers, int microBatch)
    {
        var plan = PlanGroups(options, layers, microBatch);
        _groups = new KvCacheGroup[plan.Count];
        _layers = new (int, int)[layers.Count];
        try
        {
            for (int g = 0; g < plan.Count; g++)
            {
                var members = plan[g].Members;
                for (int i = 0; i < members.Length; i++) _layers[members[i]] = (g, i);
                _groups[g] = new KvCacheGroup(plan[g].Options, members.Select(l => layers[l].Shape).ToArray());
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        Options = options;
        LayerCount = layers.Count;
        _specs = layers.ToArray();
    }

    private readonly KvLayerSpec[] _specs;

    /// <summary>The spec of every model layer.</summary>
    public IReadOnlyList<KvLayerSpec> LayerSpecs => _specs;

    /// <summary>Whether every layer's keys can be re-rotated (K-shift, context shift).</summary>
    public bool CanShift => _specs.All(s => s.Rotation is not null);

    /// <summary>One group of a plan: its options and the model layers it caches, in order.</summary>
    public sealed record GroupPlan(KvCacheOptions Options, int[] Members);

    /// <summary>
    /// How layers are grouped: full-attention layers share one group sized to the context, each distinct window gets
    /// a group of its own (see <see cref="GroupOptions"/>); the full group comes first.
    /// </summary>
    public static IReadOnlyList<GroupPlan> PlanGroups(KvCacheOptions options, IReadOnlyList<KvLayerSpec> layers, int microBatch)
    {
        static (int, SlidingWindowType) Key(KvLayerSpec l) => l.SlidingWindow > 0 ? (l.SlidingWindow, l.WindowType) : (0, SlidingWindowType.Standard);
        var keys = layers.Select(Key).Distinct().OrderBy(k => k.Item1).ToList();
        return keys.Select(k => new GroupPlan(
            GroupOptions(options, k.Item1, k.Item2, microBatch),
            Enumerable.Range(0, layers.Count).Where(l => Key(layers[l]) == k).ToArray())).ToArray();
    }

    /// <summary>
    /// Bytes a cache with these options would take, without allocating: the K and V rows of every group, and the
    /// cells' bookkeeping (<see cref="CellBookkeepingBytes"/> per cell, <see cref="PlacementBytes"/> per context
    /// cell and group). Throws <see cref="ArgumentException"/> for options the cache would refuse.
    /// </summary>
    public static (long KBytes, long VBytes, long CellBytes) ComputeBytes(KvCacheOptions options, IReadOnlyList<KvLayerSpec> layers, int microBatch)
    {
        long k = 0, v = 0, cells = 0;
        foreach (var (groupOptions, members) in PlanGroups(options, layers, microBatch))
        {
            var (gk, gv) = KvCacheGroup.ComputeBytes(groupOptions, members.Select(l => layers[l].Shape).ToArray());
            k = checked(k + gk);
            v = checked(v + gv);
            cells = checked(cells + (long)KvCacheGroup.AllocatedCells(groupOptions) * CellBookkeepingBytes + (long)options.Cells * PlacementBytes);
        }
        return (k, v, cells);
    }

    /// <summary>Managed bytes per allocated cell besides its rows: position, shift and sequence bits (40), its entry in the sequence's sorted cell list (up to 16).</summary>
    public const int CellBookkeepingBytes = 56;

    /// <summary>Managed bytes per context cell and group for the batch placement (a pool and a cell index).</summary>
    public const int PlacementBytes = 8;

    /// <summary>Options of a group: a window group needs only window + micro-batch cells per pool (never more than the context).</summary>
    public static KvCacheOptions GroupOptions(KvCacheOptions options, int window, SlidingWindowType type, int microBatch)
    {
        if (window <= 0) return options with { SlidingWindow = 0 };
        if (!options.RecycleWindowCells) return options with { SlidingWindow = window, WindowType = type };
        int pools = options.Unified ? 1 : options.MaxSequences;
        int perPool = options.Cells / pools;
        int seqsPerPool = options.Unified ? options.MaxSequences : 1;
        int needed = Math.Min(perPool, window * seqsPerPool + microBatch);
        return options with { Cells = needed * pools, SlidingWindow = window, WindowType = type };
    }

    /// <summary>Options of the full-attention group.</summary>
    public KvCacheOptions Options { get; }

    /// <summary>Layers cached.</summary>
    public int LayerCount { get; }

    /// <summary>The groups (full attention first).</summary>
    public IReadOnlyList<KvCacheGroup> Groups => _groups;

    /// <summary>The group and in-group index of a model layer.</summary>
    public (KvCacheGroup Cache, int Group, int LocalLayer) Layer(int layer)
    {
        var (g, local) = _layers[layer];
        return (_groups[g], g, local);
    }

    /// <summary>The main group (the largest: what the context size counts).</summary>
    public KvCacheGroup Main => _groups[0];

    /// <summary>Cells in use in the main group.</summary>
    public int Used => Main.Used;

    /// <summary>Cells of the main group.</summary>
    public int Capacity => Main.Capacity;

    /// <summary>Bytes of K storage over all groups.</summary>
    public long KBytes => _groups.Sum(g => g.KBytes);

    /// <summary>Bytes of V storage over all groups.</summary>
    public long VBytes => _groups.Sum(g => g.VBytes);

    /// <summary>Total bytes.</summary>
    public long TotalBytes => KBytes + VBytes;

    /// <summary>Whether a shift is pending anywhere.</summary>
    public bool HasPendingShift => _groups.Any(g => g.HasPendingShift);

    /// <summary>One report line per group.</summary>
    public string Describe() => string.Join(Environment.NewLine, _groups.Select(g =>
        g.Options.SlidingWindow > 0 ? g.Describe().Replace("kv cache:", $"kv cache (window {g.Options.SlidingWindow}):", StringComparison.Ordinal) : g.Describe()));

    /// <summary>
    /// Claims cells for a micro-batch in every group, all or nothing; each token's pool and cell go to
    /// <paramref name="placement"/> from index <paramref name="offset"/> on.
    /// </summary>
    public void Reserve(UBatchView batch, KvPlacement placement, int offset = 0)
    {
        if (offset < 0 || offset + batch.Count > placement.Capacity) throw new ArgumentException($"a placement for {placement.Capacity} tokens cannot hold {batch.Count} from index {offset}");
        for (int g = 0; g < _groups.Length; g++) _groups[g].Plan(batch, placement.Streams[g].AsSpan(offset, batch.Count), placement.Cells[g].AsSpan(offset, batch.Count));
        for (int g = 0; g < _groups.Length; g++) _groups[g].Commit(batch, placement.Streams[g].AsSpan(offset, batch.Count), placement.Cells[g].AsSpan(offset, batch.Count));
    }

    private int[] _dryStreams = [], _dryCells = [];

    /// <summary>
    /// Checks, changing nothing, that a batch split into micro-batches of <paramref name="microBatch"/> tokens can be
    /// placed one micro-batch after another: full-attention groups need a cell for every token, window groups are
    /// planned micro-batch by micro-batch on a copy of their metadata (each frees what the previous ones pushed out of
    /// every window, as the real run will). Throws <see cref="KvCacheFullException"/> when some group cannot.
    /// </summary>
    public void CheckFits(UBatchView batch, int microBatch)
    {
        int n = batch.Count;
        if (_dryStreams.Length < n)
        {
            _dryStreams = new int[n];
            _dryCells = new int[n];
        }
        foreach (var group in _groups)
        {
            if (group.Options.SlidingWindow <= 0 || !group.Options.RecycleWindowCells)
            {
                group.Plan(batch, _dryStreams.AsSpan(0, n), _dryCells.AsSpan(0, n));
                continue;
            }
            group.SaveMetadata();
            try
            {
                for (int start = 0; start < n; start += microBatch)
                {
                    int count = Math.Min(microBatch, n - start);
                    var slice = batch.Slice(start, count);
                    group.Plan(slice, _dryStreams.AsSpan(0, count), _dryCells.AsSpan(0, count));
                    group.Commit(slice, _dryStreams.AsSpan(0, count), _dryCells.AsSpan(0, count));
                }
            }
            finally
            {
                group.RestoreMetadata();
            }
        }
    }

    /// <summary>
    /// Whether a token of <paramref name="seq"/> at <paramref name="pos"/> sees its whole window in every window
    /// group: false after the sequence was cut back below where a window had already recycled its cells.
    /// </summary>
    public bool WindowIsWhole(int seq, int pos)
    {
        foreach (var g in _groups)
        {
            if (!g.WindowIsWhole(seq, pos)) return false;
        }
        return true;
    }

    /// <summary>The smallest position at which <paramref name="seq"/> can continue with whole windows (0 when none was cut).</summary>
    public int ResumePosition(int seq) => _groups.Max(g => g.ResumePosition(seq));

    /// <summary>
    /// After restoring a state: a window group that holds less of a sequence's beginning than the others (it had
    /// recycled those cells when the state was saved) marks the missing positions as recycled, so cutting the
    /// sequence back below them is refused instead of silently attending to a truncated window. This goes by what each
    /// group holds, whatever its own policy: a state saved by a recycling cache lacks those positions even when it is
    /// restored into a <c>--swa-full</c> one.
    /// </summary>
    public void MarkRecycledAfterRestore()
    {
        if (_groups.All(g => g.Options.SlidingWindow <= 0)) return;
        bool allWindowed = _groups.All(g => g.Options.SlidingWindow > 0);
        for (int seq = 0; seq < Options.MaxSequences; seq++)
        {
            int first = int.MaxValue, last = -1;
            foreach (var g in _groups)
            {
                int lo = g.SeqPosMin(seq), hi = g.SeqPosMax(seq);
                if (lo >= 0) first = Math.Min(first, lo);
                last = Math.Max(last, hi);
            }
            if (last < 0) continue;
            // With no full-attention group the history before the oldest restored position is unknown: assume it existed.
            if (allWindowed) first = 0;
            foreach (var g in _groups)
            {
                if (g.Options.SlidingWindow <= 0) continue;
                int lo = g.SeqPosMin(seq);
                if (lo < 0) g.MarkRecycled(seq, first, last + 1);
                else if (lo > first) g.MarkRecycled(seq, first, lo);
            }
        }
    }

    /// <summary>Re-rotates shifted keys in every group, each layer with its own RoPE.</summary>
    public void ApplyKShift(ComputePool pool)
    {
        for (int g = 0; g < _groups.Length; g++)
        {
            if (!_groups[g].HasPendingShift) continue;
            var rotations = new KvRotation[_groups[g].Layers.Count];
            for (int l = 0; l < _layers.Length; l++)
            {
                if (_layers[l].Group != g) continue;
                rotations[_layers[l].Local] = _specs[l].Rotation
                    ?? throw new InvalidOperationException($"layer {l} cannot be shifted: its keys carry no rotation this cache can redo");
            }
            KShift.Apply(_groups[g], rotations, pool);
        }
    }

    /// <summary>See <see cref="KvCacheGroup.SeqRemove"/>; applies to every group.</summary>
    public bool SeqRemove(int seq, int p0, int p1)
    {
        bool ok = true;
        foreach (var g in _groups) ok &= g.SeqRemove(seq, p0, p1);
        return ok;
    }

    /// <summary>See <see cref="KvCacheGroup.SeqCopy"/>; every group is checked for room before any changes.</summary>
    public void SeqCopy(int src, int dst, int p0, int p1)
    {
        foreach (var g in _groups) g.CheckCopy(src, dst, p0, p1);
        foreach (var g in _groups) g.SeqCopy(src, dst, p0, p1);
    }

    /// <summary>See <see cref="KvCacheGroup.SeqKeep"/>.</summary>
    public void SeqKeep(int seq)
    {
        foreach (var g in _groups) g.SeqKeep(seq);
    }

    /// <summary>See <see cref="KvCacheGroup.SeqAdd"/>; every group is checked for room before any changes.</summary>
    public void SeqAdd(int seq, int p0, int p1, int delta)
    {
        foreach (var g in _groups) g.CheckReposition(seq, p0, p1, pos => pos + delta);
        foreach (var g in _groups) g.SeqAdd(seq, p0, p1, delta);
    }

    /// <summary>See <see cref="KvCacheGroup.SeqDivide"/>.</summary>
    public void SeqDivide(int seq, int p0, int p1, int divisor)
    {
        if (divisor <= 0) throw new ArgumentOutOfRangeException(nameof(divisor), "the divisor must be positive");
        foreach (var g in _groups) g.CheckReposition(seq, p0, p1, pos => pos / divisor);
        foreach (var g in _groups) g.SeqDivide(seq, p0, p1, divisor);
    }

    /// <summary>Smallest cached position of a sequence (main group), or −1.</summary>
    public int SeqPosMin(int seq) => Main.SeqPosMin(seq);

    /// <summary>Largest cached position of a sequence (main group), or −1.</summary>
    public int SeqPosMax(int seq) => Main.SeqPosMax(seq);

    /// <summary>Frees everything.</summary>
    public void Clear()
    {
        foreach (var g in _groups) g.Clear();
    }

    /// <summary>Frees the storage.</summary>
    public void Dispose()
    {
        foreach (var g in _groups) g?.Dispose();
    }
}
