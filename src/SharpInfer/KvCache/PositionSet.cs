namespace SharpInfer.KvCache;

/// <summary>
/// A set of positions as sorted, disjoint, half-open spans [from, to): what a sliding-window group has recycled of a
/// sequence. Usually one span that grows at its end, so the common edits (extend, test) allocate nothing.
/// </summary>
public sealed class PositionSet
{
    private readonly List<(int From, int To)> _spans = new();

    /// <summary>True when the set holds no position.</summary>
    public bool IsEmpty => _spans.Count == 0;

    /// <summary>One past the largest position (0 when empty).</summary>
    public int End => _spans.Count == 0 ? 0 : _spans[^1].To;

    /// <summary>The spans, ascending.</summary>
    public IReadOnlyList<(int From, int To)> Spans => _spans;

    /// <summary>Adds [from, to), merging with touching or overlapping spans.</summary>
    public void Add(int from, int to)
    {
        if (from >= to) return;
        // Fast path: extends or follows the last span (pruning walks positions upwards).
        if (_spans.Count == 0 || from > _spans[^1].To)
        {
            _spans.Add((from, to));
            return;
        }
        if (from >= _spans[^1].From)
        {
            _spans[^1] = (_spans[^1].From, Math.Max(_spans[^1].To, to));
            return;
        }
        int i = 0;
        while (i < _spans.Count && _spans[i].To < from) i++;
        int start = Math.Min(from, _spans[i].From), end = to;
        int j = i;
        while (j < _spans.Count && _spans[j].From <= end)
        {
            end = Math.Max(end, _spans[j].To);
            j++;
        }
        _spans.RemoveRange(i, j - i);
        _spans.Insert(i, (start, end));
    }

    /// <summary>Removes [from, to).</summary>
    public void Remove(int from, int to)
    {
        if (from >= to || _spans.Count == 0) return;
        for (int i = _spans.Count - 1; i >= 0; i--)
        {
            var (a, b) = _spans[i];
            if (b <= from || a >= to) continue;
            _spans.RemoveAt(i);
            if (b > to) _spans.Insert(i, (to, b));
            if (a < from) _spans.Insert(i, (a, from));
        }
    }

    /// <summary>Whether any position in [from, to) is in the set.</summary>
    public bool Intersects(int from, int to)
    {
        if (from >= to) return false;
        foreach (var (a, b) in _spans)
        {
            if (a >= to) return false;
            if (b > from) return true;
        }
        return false;
    }

    /// <summary>
    /// Moves the positions in [p0, p1) through <paramref name="map"/> (non-decreasing, as adding a constant or
    /// dividing is); positions mapped below 0 are dropped. Others stay.
    /// </summary>
    public void Map(int p0, int p1, Func<int, int> map)
    {
        if (_spans.Count == 0) return;
        var moved = new List<(int, int)>();
        foreach (var (a, b) in _spans)
        {
            int from = Math.Max(a, p0), to = Math.Min(b, p1);
            if (from >= to) continue;
            int lo = Math.Max(0, map(from)), hi = map(to - 1) + 1;
            if (hi > lo) moved.Add((lo, hi));
        }
        Remove(p0, p1);
        foreach (var (a, b) in moved) Add(a, b);
    }

    /// <summary>Adds every position of <paramref name="other"/> inside [p0, p1).</summary>
    public void UnionWith(PositionSet other, int p0, int p1)
    {
        foreach (var (a, b) in other._spans.ToArray()) Add(Math.Max(a, p0), Math.Min(b, p1));
    }

    /// <summary>Empties the set.</summary>
    public void Clear() => _spans.Clear();

    /// <summary>A copy.</summary>
    public PositionSet Clone()
    {
        var copy = new PositionSet();
        copy._spans.AddRange(_spans);
        return copy;
    }
}
