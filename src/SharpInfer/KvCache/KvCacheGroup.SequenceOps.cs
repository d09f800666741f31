namespace SharpInfer.KvCache;

// Sequence operations with llama.cpp's argument conventions: p0 < 0 means 0, p1 < 0 means no upper bound, and a
// sequence id of −1 means every sequence. Ranges are [p0, p1).
public sealed partial class KvCacheGroup
{
    private static (int P0, int P1) Range(int p0, int p1) => (p0 < 0 ? 0 : p0, p1 < 0 ? int.MaxValue : p1);

    private int[] _scratchCells = new int[64];

    /// <summary>Copies the cells of <paramref name="seq"/> with positions in [p0, p1) into scratch (the live list changes under edits).</summary>
    private ReadOnlySpan<int> Snapshot(KvCells cells, int seq, int p0, int p1)
    {
        var all = cells.CellsOf(seq);
        var positions = cells.PositionsOf(seq);
        if (_scratchCells.Length < all.Length) _scratchCells = new int[Math.Max(all.Length, _scratchCells.Length * 2)];
        int n = 0;
        for (int i = 0; i < all.Length; i++)
        {
            if (positions[i] >= p0 && positions[i] < p1) _scratchCells[n++] = all[i];
        }
        return _scratchCells.AsSpan(0, n);
    }

    /// <summary>
    /// Removes positions [p0, p1) from a sequence (or from every sequence when <paramref name="seq"/> is −1).
    /// Cells no sequence uses any more become free. Always succeeds.
    /// </summary>
    public bool SeqRemove(int seq, int p0, int p1)
    {
        (p0, p1) = Range(p0, p1);
        if (seq < 0)
        {
            foreach (var r in _recycled) r?.Remove(p0, p1);
            foreach (var stream in _streams)
            {
                var cells = stream.Cells;
                for (int c = 0; c < cells.Size; c++)
                {
                    int pos = cells.Position(c);
                    if (pos >= p0 && pos < p1 && !cells.IsFree(c))
                    {
                        cells.Free(c);
                        if (c < cells.Head) cells.Head = c;
                    }
                }
            }
            return true;
        }
        var pool = StreamOf(seq).Cells;
        _recycled[seq]?.Remove(p0, p1);
        foreach (int c in Snapshot(pool, seq, p0, p1))
        {
            pool.RemoveSequence(c, seq);
            if (pool.IsFree(c) && c < pool.Head) pool.Head = c;
        }
        return true;
    }

    /// <summary>
    /// Makes <paramref name="dst"/> hold the positions [p0, p1) of <paramref name="src"/> too. Within one pool this
    /// only tags the cells (no bytes move); between pools of a split cache the rows are copied into free cells
    /// (all-or-nothing: <see cref="KvCacheFullException"/> when the destination pool lacks room).
    /// </summary>
    public void SeqCopy(int src, int dst, int p0, int p1)
    {
        (p0, p1) = Range(p0, p1);
        if (src == dst) return;
        var from = StreamOf(src);
        var to = StreamOf(dst);
        var cells = Snapshot(from.Cells, src, p0, p1);
        if (!ReferenceEquals(from, to)) CheckCopy(src, dst, p0, p1);
        if (_recycled[src] is { IsEmpty: false } recycled) (_recycled[dst] ??= new PositionSet()).UnionWith(recycled, p0, p1);
        if (ReferenceEquals(from, to))
        {
            foreach (int c in cells) from.Cells.AddSequence(c, dst);
            return;
        }
        foreach (int c in cells)
        {
            int target = FindFree(to.Cells);
            from.CopyCell(c, to, target);
            to.Cells.Occupy(target, from.Cells.Position(c), from.Cells.PendingShift(c));
            to.Cells.AddSequence(target, dst);
        }
    }

    /// <summary>Throws <see cref="KvCacheFullException"/> when copying between pools would not fit.</summary>
    internal void CheckCopy(int src, int dst, int p0, int p1)
    {
        (p0, p1) = Range(p0, p1);
        var from = StreamOf(src);
        var to = StreamOf(dst);
        if (src == dst || ReferenceEquals(from, to)) return;
        int needed = Snapshot(from.Cells, src, p0, p1).Length;
        int free = to.Cells.Size - to.Cells.Used;
        if (free < needed) throw new KvCacheFullException(needed, free, to.Cells.Size);
    }

    /// <summary>Keeps only <paramref name="seq"/>: every other sequence is removed from every cell.</summary>
    public void SeqKeep(int seq)
    {
        CheckSeq(seq);
        for (int other = 0; other < _recycled.Length; other++) if (other != seq) _recycled[other]?.Clear();
        foreach (var stream in _streams)
        {
            var cells = stream.Cells;
            for (int c = 0; c < cells.Size; c++)
            {
                if (cells.IsFree(c)) continue;
                if (!cells.HasSequence(c, seq))
                {
                    cells.Free(c);
                    if (c < cells.Head) cells.Head = c;
                    continue;
                }
                for (int other = 0; other < KvCells.MaxSequences; other++)
                {
                    if (other != seq && cells.HasSequence(c, other)) cells.RemoveSequence(c, other);
                }
            }
        }
    }

    /// <summary>
    /// Adds <paramref name="delta"/> to the positions [p0, p1) of a sequence; positions that would fall below 0 are
    /// removed. Keys are re-rotated before the next evaluation. A cell that other sequences share is first copied, so
    /// the shift moves only this sequence's positions (llama.cpp would move every sharer); when that needs more free
    /// cells than there are, <see cref="KvCacheFullException"/> is thrown and nothing changes.
    /// </summary>
    public void SeqAdd(int seq, int p0, int p1, int delta)
    {
        (p0, p1) = Range(p0, p1);
        if (delta == 0) return;
        Reposition(seq, p0, p1, pos => pos + delta);
    }

    /// <summary>Divides the positions [p0, p1) of a sequence by <paramref name="divisor"/> (integer division), like <see cref="SeqAdd"/> otherwise.</summary>
    public void SeqDivide(int seq, int p0, int p1, int divisor)
    {
        (p0, p1) = Range(p0, p1);
        if (divisor <= 0) throw new ArgumentOutOfRangeException(nameof(divisor), "the divisor must be positive");
        if (divisor == 1) return;
        Reposition(seq, p0, p1, pos => pos / divisor);
    }

    /// <summary>Throws <see cref="KvCacheFullException"/> when moving these positions would need more cell copies than there is room for.</summary>
    internal void CheckReposition(int seq, int p0, int p1, Func<int, int> map)
    {
        (p0, p1) = Range(p0, p1);
        var pool = StreamOf(seq).Cells;
        int copies = 0;
        foreach (int c in Snapshot(pool, seq, p0, p1))
        {
            if (map(pool.Position(c)) >= 0 && pool.SequenceCount(c) > 1) copies++;
        }
        int free = pool.Size - pool.Used;
        if (copies > free) throw new KvCacheFullException(copies, free, pool.Size);
    }

    private void Reposition(int seq, int p0, int p1, Func<int, int> map)
    {
        CheckReposition(seq, p0, p1, map);
        _recycled[seq]?.Map(p0, p1, map);
        var stream = StreamOf(seq);
        var pool = stream.Cells;
        var cells = Snapshot(pool, seq, p0, p1).ToArray();
        foreach (int c in cells)
        {
            int pos = pool.Position(c);
            int moved = map(pos);
            if (moved < 0)
            {
                pool.RemoveSequence(c, seq);
                if (pool.IsFree(c) && c < pool.Head) pool.Head = c;
                continue;
            }
            if (pool.SequenceCount(c) == 1)
            {
                pool.Move(c, moved);
                continue;
            }
            int copy = FindFree(pool);
            stream.CopyCell(c, stream, copy);
            pool.Occupy(copy, pos, pool.PendingShift(c));
            pool.AddSequence(copy, seq);
            pool.RemoveSequence(c, seq);
            pool.Move(copy, moved);
        }
    }

    private static int FindFree(KvCells cells)
    {
        for (int k = 0; k < cells.Size; k++)
        {
            int c = (cells.Head + k) % cells.Size;
            if (cells.IsFree(c)) return c;
        }
        throw new KvCacheFullException(1, 0, cells.Size);
    }

    /// <summary>Smallest cached position of a sequence, or −1.</summary>
    public int SeqPosMin(int seq) => StreamOf(seq).Cells.MinPosition(seq);

    /// <summary>Largest cached position of a sequence, or −1.</summary>
    public int SeqPosMax(int seq) => StreamOf(seq).Cells.MaxPosition(seq);

    /// <summary>Cells a sequence holds.</summary>
    public int SeqCellCount(int seq) => StreamOf(seq).Cells.CountOf(seq);
}
