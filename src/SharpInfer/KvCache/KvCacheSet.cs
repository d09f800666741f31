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
        var keys = layers.Select(l => l.SlidingWindow > 0 ? (l.SlidingWindow, l.WindowType) : (0, SlidingWindowType.Standard)).Distinct().OrderBy(k => k.Item1).ToList();
        _groups = new KvCacheGroup[keys.Count];
        _layers = new (int, int)[layers.Count];
        try
        {
            for (int g = 0; g < keys.Count; g++)
            {
                var (window, type) = keys[g];
                var members = Enumerable.Range(0, layers.Count).Where(l => (layers[l].SlidingWindow > 0 ? (layers[l].SlidingWindow, layers[l].WindowType) : (0, SlidingWindowType.Standard)) == keys[g]).ToList();
                for (int i = 0; i < members.Count; i++) _layers[members[i]] = (g, i);
                _groups[g] = new KvCacheGroup(GroupOptions(options, window, type, microBatch), members.Select(l => layers[l].Shape).ToArray());
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

    /// <summary>
    /// Whether <paramref name="seq"/>, cut back to its first <paramref name="length"/> positions, can go on at position
    /// <paramref name="length"/>: every sliding-window group must still hold the oldest position that token sees
    /// (pruning only ever drops a sequence's oldest positions, so the rest are there too).
    /// </summary>
    public bool CanContinueAt(int seq, int length) =>
        length == 0 || _groups.All(g => g.SeqPosMin(seq) is >= 0 and var min && min <= Math.Max(0, g.LowestVisible(length)));

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
