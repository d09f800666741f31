using System.Globalization;
using SharpInfer.Tensors;

namespace SharpInfer.KvCache;

/// <summary>The tokens of one forward pass as the cache sees them: a position and a set of sequences each.</summary>
public readonly ref struct UBatchView
{
    /// <summary>Creates a view; token i belongs to <c>SeqIds[SeqStart[i] .. SeqStart[i] + SeqCount[i]]</c>.</summary>
    public UBatchView(ReadOnlySpan<int> positions, ReadOnlySpan<int> seqStart, ReadOnlySpan<int> seqCount, ReadOnlySpan<int> seqIds)
    {
        Positions = positions;
        SeqStart = seqStart;
        SeqCount = seqCount;
        SeqIds = seqIds;
    }

    /// <summary>Token positions.</summary>
    public ReadOnlySpan<int> Positions { get; }
    /// <summary>Offset of each token's sequence ids.</summary>
    public ReadOnlySpan<int> SeqStart { get; }
    /// <summary>Number of sequence ids of each token.</summary>
    public ReadOnlySpan<int> SeqCount { get; }
    /// <summary>All sequence ids, flattened.</summary>
    public ReadOnlySpan<int> SeqIds { get; }
    /// <summary>Number of tokens.</summary>
    public int Count => Positions.Length;
    /// <summary>The first (primary) sequence of token <paramref name="i"/>.</summary>
    public int PrimarySeq(int i) => SeqIds[SeqStart[i]];

    /// <summary>Tokens [start, start + count) as a view of their own (sequence ids stay shared).</summary>
    public UBatchView Slice(int start, int count) =>
        new(Positions.Slice(start, count), SeqStart.Slice(start, count), SeqCount.Slice(start, count), SeqIds);
}

/// <summary>
/// The key/value cache: per layer, one K row and one V row per cell in the chosen storage types, and cell
/// metadata (position, sequence set) per pool. Sequences share cells (a forked prompt costs no bytes), and the
/// usual sequence operations (remove, copy, keep, shift, divide) work on the metadata, copying rows only where two
/// sequences that share a cell must part (so every sequence always sees exactly its own positions).
/// </summary>
public sealed unsafe partial class KvCacheGroup : IDisposable
{
    private readonly KvStream[] _streams;

    /// <summary>Allocates the cache; throws <see cref="ArgumentException"/> for an unusable type or shape.</summary>
    public KvCacheGroup(KvCacheOptions options, IReadOnlyList<KvLayerShape> layers)
    {
        Validate(options, layers);
        Options = options;
        Layers = layers.ToArray();
        int streams = options.Unified ? 1 : options.MaxSequences;
        _streams = new KvStream[streams];
        try
        {
            for (int s = 0; s < streams; s++) _streams[s] = new KvStream(options.Cells / streams, Layers, options.TypeK, options.TypeV);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Options the cache was built with.</summary>
    public KvCacheOptions Options { get; }

    /// <summary>Per-layer row shapes.</summary>
    public IReadOnlyList<KvLayerShape> Layers { get; }

    /// <summary>Number of cell pools (1 when unified).</summary>
    public int StreamCount => _streams.Length;

    /// <summary>Total cells.</summary>
    public int Capacity => _streams.Sum(s => s.Cells.Size);

    /// <summary>Cells in use, across pools.</summary>
    public int Used => _streams.Sum(s => s.Cells.Used);

    /// <summary>A pool by index.</summary>
    public KvStream Stream(int index) => _streams[index];

    /// <summary>Index of the pool that holds a sequence.</summary>
    public int StreamIndexOf(int seq)
    {
        CheckSeq(seq);
        return _streams.Length == 1 ? 0 : seq;
    }

    /// <summary>The pool that holds a sequence.</summary>
    public KvStream StreamOf(int seq) => _streams[StreamIndexOf(seq)];

    /// <summary>Whether any pool has keys waiting to be re-rotated.</summary>
    public bool HasPendingShift => _streams.Any(s => s.Cells.HasPendingShift);

    private void CheckSeq(int seq)
    {
        if ((uint)seq >= (uint)Options.MaxSequences)
        {
            throw new ArgumentOutOfRangeException(nameof(seq), $"sequence id {seq} is outside 0..{Options.MaxSequences - 1} (raise the number of parallel sequences)");
        }
    }

    private static void Validate(KvCacheOptions options, IReadOnlyList<KvLayerShape> layers)
    {
        if (options.Cells <= 0) throw new ArgumentException($"the KV cache needs at least one cell (got {options.Cells})");
        if (options.Cells > MaxCells) throw new ArgumentException($"a KV cache holds at most {MaxCells} cells (got {options.Cells})");
        if (options.MaxSequences is < 1 or > KvCells.MaxSequences) throw new ArgumentException($"parallel sequences must be 1..{KvCells.MaxSequences} (got {options.MaxSequences})");
        if (!options.Unified && options.Cells < options.MaxSequences)
        {
            throw new ArgumentException($"a split cache gives each of its {options.MaxSequences} sequences its own pool, but {options.Cells} cells are fewer than one per sequence");
        }
        foreach (var (type, what) in new[] { (options.TypeK, "K"), (options.TypeV, "V") })
        {
            if (!KvCacheOptions.SupportedTypes.Contains(type))
            {
                throw new ArgumentException($"unsupported KV cache type {type.ToString().ToLowerInvariant()} for {what} (supported: {string.Join(", ", KvCacheOptions.SupportedTypes.Select(t => t.ToString().ToLowerInvariant()))})");
            }
        }
        int block(GgmlType t) => GgmlTypeInfo.BlockSize(t);
        for (int l = 0; l < layers.Count; l++)
        {
            var s = layers[l];
            if (s.HeadDimK % block(options.TypeK) != 0)
            {
                throw new ArgumentException($"KV cache type {options.TypeK.ToString().ToLowerInvariant()} needs the key head dimension to be a multiple of {block(options.TypeK)}, but layer {l} has {s.HeadDimK}");
            }
            if (s.VWidth > 0 && s.HeadDimV % block(options.TypeV) != 0)
            {
                throw new ArgumentException($"KV cache type {options.TypeV.ToString().ToLowerInvariant()} needs the value head dimension to be a multiple of {block(options.TypeV)}, but layer {l} has {s.HeadDimV}");
            }
        }
    }

    /// <summary>Most cells a cache may have: each cell's sequence set is four 64-bit words in one array.</summary>
    public const int MaxCells = int.MaxValue / 4;

    /// <summary>Exact bytes a cache with these options would allocate (K, V), without allocating.</summary>
    public static (long KBytes, long VBytes) ComputeBytes(KvCacheOptions options, IReadOnlyList<KvLayerShape> layers)
    {
        Validate(options, layers);
        long k = 0, v = 0;
        foreach (var s in layers)
        {
            k = checked(k + GgmlTypeInfo.RowBytes(options.TypeK, s.KWidth) * AllocatedCells(options));
            if (s.VWidth > 0) v = checked(v + GgmlTypeInfo.RowBytes(options.TypeV, s.VWidth) * AllocatedCells(options));
        }
        return (k, v);
    }

    /// <summary>Cells actually allocated: a split cache gives each sequence ⌊cells / sequences⌋.</summary>
    public static int AllocatedCells(KvCacheOptions options) => options.Unified ? options.Cells : options.Cells / options.MaxSequences * options.MaxSequences;

    /// <summary>Bytes of K storage allocated.</summary>
    public long KBytes => _streams.Sum(s => s.KBytes);

    /// <summary>Bytes of V storage allocated.</summary>
    public long VBytes => _streams.Sum(s => s.VBytes);

    /// <summary>One-line memory report in llama.cpp's format.</summary>
    public string Describe() => FormatReport(KBytes, VBytes, Capacity, Layers.Count, Options);

    /// <summary>The report line for given sizes (also used by <c>kv-size</c> before anything is allocated).</summary>
    public static string FormatReport(long kBytes, long vBytes, int cells, int layers, KvCacheOptions options)
    {
        static string Mib(long b) => (b / 1048576.0).ToString("F2", CultureInfo.InvariantCulture);
        int streams = options.Unified ? 1 : options.MaxSequences;
        return $"kv cache: {Mib(kBytes + vBytes)} MiB ({cells} cells, {layers} layers, {options.MaxSequences}/{streams} seqs), " +
               $"K ({options.TypeK.ToString().ToLowerInvariant()}): {Mib(kBytes)} MiB, V ({options.TypeV.ToString().ToLowerInvariant()}): {Mib(vBytes)} MiB";
    }

    /// <summary>
    /// Finds and claims one cell per token (cells need not be contiguous) and records each token's position and
    /// sequences. Either every token gets a cell or nothing changes and <see cref="KvCacheFullException"/> is thrown.
    /// <paramref name="streams"/> and <paramref name="cells"/> receive each token's pool and cell.
    /// </summary>
    public void Reserve(UBatchView batch, Span<int> streams, Span<int> cells)
    {
        Plan(batch, streams, cells);
        Commit(batch, streams, cells);
    }

    private readonly List<(int Stream, int Cell, int Seq)> _prunes = new();
    private readonly Dictionary<(int Stream, int Cell), int> _pruneCounts = new();

    /// <summary>
    /// Chooses cells for a batch without changing anything: free cells, plus (in a sliding-window cache) cells that
    /// no token of the batch or after it can see any more. Throws <see cref="KvCacheFullException"/> when they do not suffice.
    /// </summary>
    internal void Plan(UBatchView batch, Span<int> streams, Span<int> cells)
    {
        int n = batch.Count;
        for (int i = 0; i < n; i++)
        {
            if (batch.SeqCount[i] < 1) throw new ArgumentException($"token {i} of the batch has no sequence");
            int stream = StreamIndexOf(batch.PrimarySeq(i));
            for (int k = 1; k < batch.SeqCount[i]; k++)
            {
                if (StreamIndexOf(batch.SeqIds[batch.SeqStart[i] + k]) != stream)
                {
                    throw new ArgumentException($"token {i} belongs to sequences in different pools; a split cache cannot share a token between sequences");
                }
            }
            streams[i] = stream;
        }
        PlanPrunes(batch);
        for (int s = 0; s < _streams.Length; s++)
        {
            var pool = _streams[s].Cells;
            int scan = pool.Head, looked = 0;
            for (int i = 0; i < n; i++)
            {
                if (streams[i] != s) continue;
                int cell = -1;
                while (looked < pool.Size)
                {
                    int c = scan;
                    scan = (scan + 1) % pool.Size;
                    looked++;
                    if (pool.IsFree(c) || WillBeFreed(s, c))
                    {
                        cell = c;
                        break;
                    }
                }
                if (cell < 0)
                {
                    int needed = 0;
                    for (int j = 0; j < n; j++) if (streams[j] == s) needed++;
                    int free = pool.Size - pool.Used + CountFreed(s);
                    throw new KvCacheFullException(needed, free, pool.Size);
                }
                cells[i] = cell;
            }
        }
    }

    /// <summary>Applies a successful <see cref="Plan"/>: prunes out-of-window cells, then occupies the chosen ones.</summary>
    internal void Commit(UBatchView batch, ReadOnlySpan<int> streams, ReadOnlySpan<int> cells)
    {
        foreach (var (stream, cell, seq) in _prunes)
        {
            var pool = _streams[stream].Cells;
            int pos = pool.Position(cell);
            (_recycled[seq] ??= new PositionSet()).Add(pos, pos + 1);
            pool.RemoveSequence(cell, seq);
        }
        _prunes.Clear();
        for (int i = 0; i < batch.Count; i++)
        {
            var pool = _streams[streams[i]].Cells;
            pool.Occupy(cells[i], batch.Positions[i]);
            for (int k = 0; k < batch.SeqCount[i]; k++) pool.AddSequence(cells[i], batch.SeqIds[batch.SeqStart[i] + k]);
            pool.Head = (cells[i] + 1) % pool.Size;
        }
    }

    /// <summary>
    /// In a sliding-window cache, lists (cell, sequence) pairs that the earliest new token of each sequence in the
    /// batch can no longer see: positions only grow, so nothing after it will see them either.
    /// </summary>
    private void PlanPrunes(UBatchView batch)
    {
        _prunes.Clear();
        _pruneCounts.Clear();
        if (Options.SlidingWindow <= 0 || !Options.RecycleWindowCells) return;
        Span<int> first = stackalloc int[KvCells.MaxSequences];
        first.Fill(int.MaxValue);
        for (int i = 0; i < batch.Count; i++)
        {
            for (int k = 0; k < batch.SeqCount[i]; k++)
            {
                int seq = batch.SeqIds[batch.SeqStart[i] + k];
                first[seq] = Math.Min(first[seq], batch.Positions[i]);
            }
        }
        for (int seq = 0; seq < KvCells.MaxSequences; seq++)
        {
            if (first[seq] == int.MaxValue) continue;
            int stream = StreamIndexOf(seq);
            var pool = _streams[stream].Cells;
            int lowest = LowestVisible(first[seq]);
            var list = pool.CellsOf(seq);
            var positions = pool.PositionsOf(seq);
            for (int j = 0; j < list.Length && positions[j] < lowest; j++)
            {
                _prunes.Add((stream, list[j], seq));
                _pruneCounts[(stream, list[j])] = _pruneCounts.GetValueOrDefault((stream, list[j])) + 1;
            }
        }
    }

    private bool WillBeFreed(int stream, int cell) =>
        _pruneCounts.Count > 0 && _pruneCounts.TryGetValue((stream, cell), out int removed) && removed == _streams[stream].Cells.SequenceCount(cell);

    private int CountFreed(int stream)
    {
        int count = 0;
        foreach (var ((s, c), _) in _pruneCounts) if (s == stream && WillBeFreed(s, c)) count++;
        return count;
    }

    /// <summary>The lowest position a token at <paramref name="pos"/> sees (0 without a window).</summary>
    public int LowestVisible(int pos) => Options.SlidingWindow <= 0 ? 0 : Options.WindowType switch
    {
        SlidingWindowType.Chunked => pos / Options.SlidingWindow * Options.SlidingWindow,
        _ => pos - Options.SlidingWindow + 1,
    };

    /// <summary>
    /// The cells a token of <paramref name="seq"/> at <paramref name="pos"/> attends to: a slice of the sequence's
    /// position-sorted cell list (causal, and inside the window when there is one). Valid until the cache changes.
    /// </summary>
    public ReadOnlySpan<int> VisibleCells(int seq, int pos)
    {
        var (lo, hi) = VisibleRange(seq, pos);
        return SequenceCells(seq)[lo..hi];
    }

    /// <summary>
    /// The cells a token of <paramref name="seq"/> at <paramref name="pos"/> attends to, as the index range
    /// [lo, hi) into <see cref="SequenceCells"/> (which is sorted by position, so causal and window masks are ranges).
    /// </summary>
    public (int Lo, int Hi) VisibleRange(int seq, int pos)
    {
        var positions = StreamOf(seq).Cells.PositionsOf(seq);
        int hi = UpperBound(positions, pos);
        int lo = Options.SlidingWindow > 0 ? UpperBound(positions, LowestVisible(pos) - 1) : 0;
        return (lo, Math.Max(lo, hi));
    }

    /// <summary>The cells holding <paramref name="seq"/>, sorted by position.</summary>
    public ReadOnlySpan<int> SequenceCells(int seq) => StreamOf(seq).Cells.CellsOf(seq);

    private static int UpperBound(ReadOnlySpan<int> sorted, int value)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] <= value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>Writes a token's key row (f32, KWidth values) into its cell, converting to the storage type.</summary>
    public void StoreK(int stream, int layer, int cell, float* k) =>
        Quantize.Row(Options.TypeK, k, _streams[stream].KRow(layer, cell), Layers[layer].KWidth);

    /// <summary>Writes a token's value row into its cell.</summary>
    public void StoreV(int stream, int layer, int cell, float* v) =>
        Quantize.Row(Options.TypeV, v, _streams[stream].VRow(layer, cell), Layers[layer].VWidth);

    /// <summary>Frees every cell.</summary>
    public void Clear()
    {
        foreach (var s in _streams) s.Cells.Clear();
        foreach (var r in _recycled) r?.Clear();
    }

    // --- recycled window positions: what a sequence logically holds that this window group no longer stores. ---

    private readonly PositionSet?[] _recycled = new PositionSet?[KvCells.MaxSequences];

    /// <summary>Positions of <paramref name="seq"/> this group recycled (out of every window when they were dropped).</summary>
    public PositionSet? RecycledPositions(int seq) => _recycled[seq];

    /// <summary>
    /// Whether a token of <paramref name="seq"/> at <paramref name="pos"/> would see its whole window: false when a
    /// position it should attend to was recycled (the sequence was cut back below where its window had moved).
    /// </summary>
    public bool WindowIsWhole(int seq, int pos) =>
        _recycled[seq] is not { IsEmpty: false } r || !r.Intersects(LowestVisible(pos), pos);

    /// <summary>The smallest position at which <paramref name="seq"/> can continue with a whole window (0 when nothing was recycled).</summary>
    public int ResumePosition(int seq)
    {
        if (_recycled[seq] is not { IsEmpty: false } r) return 0;
        int w = Options.SlidingWindow;
        return Options.WindowType == SlidingWindowType.Chunked ? (r.End + w - 1) / w * w : r.End + w - 1;
    }

    /// <summary>Marks [from, to) of <paramref name="seq"/> as recycled (after restoring a state that lacks those positions).</summary>
    internal void MarkRecycled(int seq, int from, int to) => (_recycled[seq] ??= new PositionSet()).Add(from, to);

    // --- metadata snapshots for dry runs ---

    private KvCells[]? _saved;
    private PositionSet?[]? _savedRecycled;

    /// <summary>Saves every pool's metadata and the recycled positions (rows are not touched by planning).</summary>
    internal void SaveMetadata()
    {
        _saved ??= _streams.Select(s => new KvCells(s.Cells.Size)).ToArray();
        for (int i = 0; i < _streams.Length; i++) _streams[i].Cells.CopyTo(_saved[i]);
        _savedRecycled = _recycled.Select(r => r?.Clone()).ToArray();
    }

    /// <summary>Puts back what <see cref="SaveMetadata"/> saved.</summary>
    internal void RestoreMetadata()
    {
        if (_saved is null || _savedRecycled is null) throw new InvalidOperationException("no metadata was saved");
        for (int i = 0; i < _streams.Length; i++) _saved[i].CopyTo(_streams[i].Cells);
        Array.Copy(_savedRecycled, _recycled, _recycled.Length);
        _savedRecycled = null;
    }

    /// <summary>Frees the storage.</summary>
    public void Dispose()
    {
        foreach (var s in _streams) s?.Dispose();
    }
}
