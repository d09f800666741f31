namespace SharpInfer.Tokenization;

/// <summary>
/// A set of code points (a regex character class): sorted, merged ranges, with a bitmap for the first 256 code
/// points, where almost every test lands (ASCII, and the category markers of collapsed text).
/// </summary>
internal sealed class CodepointClass
{
    /// <summary>Every code point.</summary>
    public static readonly CodepointClass Any = new([(0, 0x10FFFF)], negated: false);

    private readonly (int Lo, int Hi)[] _ranges;
    private readonly ulong[] _low = new ulong[4];
    private readonly bool _negated;

    public CodepointClass(IEnumerable<(int Lo, int Hi)> ranges, bool negated)
    {
        _ranges = Merge(ranges);
        _negated = negated;
        foreach (var (lo, hi) in _ranges)
        {
            for (int c = lo; c <= Math.Min(hi, 255); c++) _low[c >> 6] |= 1UL << (c & 63);
        }
    }

    /// <summary>Whether the class holds a code point.</summary>
    public bool Contains(int cp)
    {
        bool inside = (uint)cp < 256 ? (_low[cp >> 6] & (1UL << (cp & 63))) != 0 : InRanges(cp);
        return inside != _negated;
    }

    private bool InRanges(int cp)
    {
        int lo = 0, hi = _ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (cp < _ranges[mid].Lo) hi = mid - 1;
            else if (cp > _ranges[mid].Hi) lo = mid + 1;
            else return true;
        }
        return false;
    }

    /// <summary>The ranges the class holds, negation applied.</summary>
    public IEnumerable<(int Lo, int Hi)> Ranges => _negated ? Complement(_ranges) : _ranges;

    /// <summary>The union of two classes.</summary>
    public CodepointClass Union(CodepointClass other) => new(Ranges.Concat(other.Ranges), negated: false);

    /// <summary>The code points not in the given ranges, over 0..U+10FFFF.</summary>
    public static IEnumerable<(int Lo, int Hi)> Complement(IEnumerable<(int Lo, int Hi)> ranges)
    {
        int next = 0;
        foreach (var (lo, hi) in Merge(ranges))
        {
            if (lo > next) yield return (next, lo - 1);
            next = Math.Max(next, hi + 1);
        }
        if (next <= 0x10FFFF) yield return (next, 0x10FFFF);
    }

    private static (int Lo, int Hi)[] Merge(IEnumerable<(int Lo, int Hi)> ranges)
    {
        var sorted = ranges.OrderBy(r => r.Lo).ToList();
        var merged = new List<(int Lo, int Hi)>(sorted.Count);
        foreach (var r in sorted)
        {
            if (merged.Count > 0 && r.Lo <= merged[^1].Hi + 1) merged[^1] = (merged[^1].Lo, Math.Max(merged[^1].Hi, r.Hi));
            else merged.Add(r);
        }
        return merged.ToArray();
    }
}
