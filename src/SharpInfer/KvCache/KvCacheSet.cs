using SharpInfer.Kernels;
using SharpInfer.Threading;

namespace SharpInfer.KvCache;

/// <summary>A layer's cached row shape and attention window.</summary>
/// <param name="Shape">Row widths.</param>
/// <param name="SlidingWindow">Window in positions, 0 for full attention.</param>
/// <param name="WindowType">How the window is measured.</param>
public readonly record struct KvLayerSpec(KvLayerShape Shape, int SlidingWindow = 0, SlidingWindowType WindowType = SlidingWindowType.Standard);

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
/// window + micro-batch cells whose out-of-window cells are recycled. Sequence operations apply to every group.
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

    /// <summary>The groups a cache of these layers has: full attention first, then one per distinct window, each with its member layers.</summary>
    private static List<(KvCacheOptions Options, int[] Members)> PlanGroups(KvCacheOptions options, IReadOnlyList<KvLayerSpec> layers, int microBatch)
    {
        static (int, SlidingWindowType) Key(KvLayerSpec l) => l.SlidingWindow > 0 ? (l.SlidingWindow, l.WindowType) : (0, SlidingWindowType.Standard);
        return layers.Select(Key).Distinct().OrderBy(k => k.Item1)
            .Select(key => (GroupOptions(options, key.Item1, key.Item2, microBatch), Enumerable.Range(0, layers.Count).Where(l => Key(layers[l]) == key).ToArray()))
            .ToList();
    }

    /// <summary>Options of a group: a window group needs only window + micro-batch cells per pool (never more than the context).</summary>
    public static KvCacheOptions GroupOptions(KvCacheOptions options, int window, SlidingWindowType type, int microBatch)
    {
        if (window <= 0) return options with { SlidingWindow = 0 };
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

    /// <summary>Claims cells for a batch in every group, all or nothing.</summary>
    public void Reserve(UBatchView batch, KvPlacement placement)
    {
        if (batch.Count > placement.Capacity) throw new ArgumentException($"a placement for {placement.Capacity} tokens cannot hold {batch.Count}");
        for (int g = 0; g < _groups.Length; g++) _groups[g].Plan(batch, placement.Streams[g], placement.Cells[g]);
        for (int g = 0; g < _groups.Length; g++) _groups[g].Commit(batch, placement.Streams[g], placement.Cells[g]);
    }

    /// <summary>Re-rotates shifted keys in every group.</summary>
    public void ApplyKShift(RopeParameters rope, int headDimK, ComputePool pool)
    {
        foreach (var g in _groups) if (g.HasPendingShift) KShift.Apply(g, rope, headDimK, pool);
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
