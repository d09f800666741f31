using System.Numerics;

namespace SharpInfer.KvCache;

/// <summary>
/// Metadata of one pool of cache cells: each cell holds a position, a pending position shift and the set of
/// sequences that use it (up to <see cref="MaxSequences"/>). A cell is free exactly when its set is empty.
/// <para>
/// Per sequence, the cells it uses are kept sorted by (position, cell): attention walks only a sequence's own
/// cells, and min/max position are the ends of that list (O(1)). Appending the next position — the decode
/// case — is O(1) and allocation-free; other edits are a binary search and a block move.
/// </para>
/// </summary>
public sealed class KvCells
{
    /// <summary>Highest number of distinct sequence ids (0..255).</summary>
    public const int MaxSequences = 256;

    private const int Words = MaxSequences / 64;

    private readonly int[] _pos;
    private readonly int[] _shift;
    private readonly ulong[] _seqs;
    private readonly SequenceCells?[] _bySequence = new SequenceCells?[MaxSequences];
    private int _used;
    private bool _hasShift;

    /// <summary>Creates <paramref name="size"/> free cells.</summary>
    public KvCells(int size)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), "a cache needs at least one cell");
        Size = size;
        _pos = new int[size];
        _shift = new int[size];
        _seqs = new ulong[size * Words];
        Array.Fill(_pos, -1);
    }

    /// <summary>Number of cells.</summary>
    public int Size { get; }

    /// <summary>Cells in use by at least one sequence.</summary>
    public int Used => _used;

    /// <summary>Where the next slot search starts (just after the last allocation).</summary>
    public int Head { get; set; }

    /// <summary>True when some cell has a pending position shift (keys must be re-rotated before use).</summary>
    public bool HasPendingShift => _hasShift;

    /// <summary>Position of a cell (−1 when free).</summary>
    public int Position(int cell) => _pos[cell];

    /// <summary>Pending shift of a cell since its key was last rotated.</summary>
    public int PendingShift(int cell) => _shift[cell];

    /// <summary>Whether the cell is unused.</summary>
    public bool IsFree(int cell)
    {
        int w = cell * Words;
        return (_seqs[w] | _seqs[w + 1] | _seqs[w + 2] | _seqs[w + 3]) == 0;
    }

    /// <summary>Whether the cell belongs to <paramref name="seq"/>.</summary>
    public bool HasSequence(int cell, int seq) => (_seqs[cell * Words + (seq >> 6)] & (1UL << (seq & 63))) != 0;

    /// <summary>Number of sequences sharing the cell.</summary>
    public int SequenceCount(int cell)
    {
        int w = cell * Words;
        return BitOperations.PopCount(_seqs[w]) + BitOperations.PopCount(_seqs[w + 1]) + BitOperations.PopCount(_seqs[w + 2]) + BitOperations.PopCount(_seqs[w + 3]);
    }

    /// <summary>The sequences sharing a cell, in ascending order.</summary>
    public IEnumerable<int> SequencesOf(int cell)
    {
        for (int s = 0; s < MaxSequences; s++)
        {
            if (HasSequence(cell, s)) yield return s;
        }
    }

    /// <summary>The cells of a sequence, sorted by position (valid until the next change).</summary>
    public ReadOnlySpan<int> CellsOf(int seq) => _bySequence[seq] is { } s ? s.Cells.AsSpan(0, s.Count) : ReadOnlySpan<int>.Empty;

    /// <summary>The positions matching <see cref="CellsOf"/>.</summary>
    public ReadOnlySpan<int> PositionsOf(int seq) => _bySequence[seq] is { } s ? s.Positions.AsSpan(0, s.Count) : ReadOnlySpan<int>.Empty;

    /// <summary>Smallest position of a sequence, or −1 when it holds none.</summary>
    public int MinPosition(int seq) => _bySequence[seq] is { Count: > 0 } s ? s.Positions[0] : -1;

    /// <summary>Largest position of a sequence, or −1 when it holds none.</summary>
    public int MaxPosition(int seq) => _bySequence[seq] is { Count: > 0 } s ? s.Positions[s.Count - 1] : -1;

    /// <summary>Number of cells a sequence uses.</summary>
    public int CountOf(int seq) => _bySequence[seq]?.Count ?? 0;

    /// <summary>Sequences that hold at least one cell.</summary>
    public IEnumerable<int> ActiveSequences()
    {
        for (int s = 0; s < MaxSequences; s++)
        {
            if (_bySequence[s] is { Count: > 0 }) yield return s;
        }
    }

    /// <summary>Gives a free cell a position (no sequence yet); call <see cref="AddSequence"/> next.</summary>
    public void Occupy(int cell, int pos, int pendingShift = 0)
    {
        if (!IsFree(cell)) throw new InvalidOperationException($"cell {cell} is in use");
        if (pos < 0) throw new ArgumentOutOfRangeException(nameof(pos), "positions are non-negative");
        _pos[cell] = pos;
        _shift[cell] = pendingShift;
        if (pendingShift != 0) _hasShift = true;
    }

    /// <summary>Adds a sequence to a cell that has a position.</summary>
    public void AddSequence(int cell, int seq)
    {
        CheckSeq(seq);
        if (_pos[cell] < 0) throw new InvalidOperationException($"cell {cell} has no position");
        if (HasSequence(cell, seq)) return;
        if (IsFree(cell)) _used++;
        _seqs[cell * Words + (seq >> 6)] |= 1UL << (seq & 63);
        (_bySequence[seq] ??= new SequenceCells()).Insert(cell, _pos[cell]);
    }

    /// <summary>Removes a sequence from a cell; the cell becomes free when no sequence remains.</summary>
    public void RemoveSequence(int cell, int seq)
    {
        if (!HasSequence(cell, seq)) return;
        _seqs[cell * Words + (seq >> 6)] &= ~(1UL << (seq & 63));
        _bySequence[seq]!.Remove(cell, _pos[cell]);
        if (IsFree(cell)) Release(cell);
    }

    /// <summary>Frees a cell from every sequence.</summary>
    public void Free(int cell)
    {
        if (IsFree(cell)) return;
        for (int w = 0; w < Words; w++)
        {
            ulong bits = _seqs[cell * Words + w];
            while (bits != 0)
            {
                int s = w * 64 + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                _bySequence[s]!.Remove(cell, _pos[cell]);
            }
            _seqs[cell * Words + w] = 0;
        }
        Release(cell);
    }

    private void Release(int cell)
    {
        _used--;
        _pos[cell] = -1;
        _shift[cell] = 0;
    }

    /// <summary>
    /// Moves a cell to a new position, accumulating the difference as a pending shift. Cells pushed below
    /// position 0 are freed (their keys could not be rotated to a meaningful place).
    /// </summary>
    public void Move(int cell, int newPos)
    {
        int old = _pos[cell];
        if (old < 0 || old == newPos) return;
        if (newPos < 0)
        {
            Free(cell);
            return;
        }
        for (int w = 0; w < Words; w++)
        {
            ulong bits = _seqs[cell * Words + w];
            while (bits != 0)
            {
                int s = w * 64 + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                _bySequence[s]!.Remove(cell, old);
                _bySequence[s]!.Insert(cell, newPos);
            }
        }
        _pos[cell] = newPos;
        _shift[cell] += newPos - old;
        _hasShift = true;
    }

    /// <summary>Clears every pending shift (after the keys were re-rotated).</summary>
    public void ClearShifts()
    {
        if (!_hasShift) return;
        Array.Clear(_shift);
        _hasShift = false;
    }

    /// <summary>Frees every cell.</summary>
    public void Clear()
    {
        Array.Fill(_pos, -1);
        Array.Clear(_shift);
        Array.Clear(_seqs);
        foreach (var s in _bySequence) s?.Clear();
        _used = 0;
        Head = 0;
        _hasShift = false;
    }

    /// <summary>
    /// Copies every piece of this pool's metadata (positions, shifts, sequence sets, per-sequence lists, head) into
    /// <paramref name="target"/>, a pool of the same size: a dry run plans on a copy and restores it afterwards.
    /// Reuses the target's arrays, so repeated copies allocate nothing once they have grown.
    /// </summary>
    internal void CopyTo(KvCells target)
    {
        if (target.Size != Size) throw new ArgumentException($"a pool of {target.Size} cells cannot take the metadata of {Size}");
        Array.Copy(_pos, target._pos, Size);
        Array.Copy(_shift, target._shift, Size);
        Array.Copy(_seqs, target._seqs, _seqs.Length);
        for (int s = 0; s < MaxSequences; s++)
        {
            if (_bySequence[s] is not { Count: > 0 } source)
            {
                target._bySequence[s]?.Clear();
                continue;
            }
            (target._bySequence[s] ??= new SequenceCells()).CopyFrom(source);
        }
        target._used = _used;
        target.Head = Head;
        target._hasShift = _hasShift;
    }

    /// <summary>Raw sequence bitset words of a cell (4 × 64 bits), for state files.</summary>
    internal ReadOnlySpan<ulong> SequenceBits(int cell) => _seqs.AsSpan(cell * Words, Words);

    private static void CheckSeq(int seq)
    {
        if ((uint)seq >= MaxSequences) throw new ArgumentOutOfRangeException(nameof(seq), $"sequence id {seq} is outside 0..{MaxSequences - 1}");
    }

    /// <summary>One sequence's cells sorted by (position, cell), with growable arrays.</summary>
    private sealed class SequenceCells
    {
        public int[] Cells = new int[16];
        public int[] Positions = new int[16];
        public int Count;

        public void Insert(int cell, int pos)
        {
            if (Count == Cells.Length)
            {
                Array.Resize(ref Cells, Count * 2);
                Array.Resize(ref Positions, Count * 2);
            }
            int at = Count;
            // Appending the next position is the common case: no search, no move.
            if (Count > 0 && Compare(Positions[Count - 1], Cells[Count - 1], pos, cell) > 0) at = LowerBound(pos, cell);
            if (at < Count)
            {
                Array.Copy(Cells, at, Cells, at + 1, Count - at);
                Array.Copy(Positions, at, Positions, at + 1, Count - at);
            }
            Cells[at] = cell;
            Positions[at] = pos;
            Count++;
        }

        public void Remove(int cell, int pos)
        {
            int at = Count > 0 && Cells[Count - 1] == cell && Positions[Count - 1] == pos ? Count - 1 : LowerBound(pos, cell);
            if (at >= Count || Cells[at] != cell) throw new InvalidOperationException($"cell {cell} at position {pos} is not listed for its sequence");
            Array.Copy(Cells, at + 1, Cells, at, Count - at - 1);
            Array.Copy(Positions, at + 1, Positions, at, Count - at - 1);
            Count--;
        }

        public void Clear() => Count = 0;

        public void CopyFrom(SequenceCells other)
        {
            if (Cells.Length < other.Count)
            {
                Cells = new int[other.Cells.Length];
                Positions = new int[other.Cells.Length];
            }
            Array.Copy(other.Cells, Cells, other.Count);
            Array.Copy(other.Positions, Positions, other.Count);
            Count = other.Count;
        }

        private int LowerBound(int pos, int cell)
        {
            int lo = 0, hi = Count;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (Compare(Positions[mid], Cells[mid], pos, cell) < 0) lo = mid + 1;
                else hi = mid;
            }
            return lo;
        }

        private static int Compare(int posA, int cellA, int posB, int cellB) => posA != posB ? posA.CompareTo(posB) : cellA.CompareTo(cellB);
    }
}
