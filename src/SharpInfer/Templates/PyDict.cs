namespace SharpInfer.Templates;

/// <summary>
/// A Python dict: insertion-ordered, keys compared as Python does (<c>1 == 1.0 == True</c>); keys must be hashable
/// (strings, numbers, booleans, None, tuples of those).
/// </summary>
internal sealed class PyDict
{
    private static readonly object NoneKey = new();
    private readonly OrderedDictionary<object, object?> _items = new(KeyComparer.Instance);

    public int Count => _items.Count;

    public bool TryGet(object? key, out object? value)
    {
        key = Markup.Plain(key);
        if (!IsHashable(key))
        {
            value = null;
            return false;
        }
        return _items.TryGetValue(key ?? NoneKey, out value);
    }

    public void Set(object? key, object? value)
    {
        key = Markup.Plain(key);
        if (!IsHashable(key)) throw new TemplateException($"unhashable type: '{PyOps.TypeName(key)}'");
        _items[key ?? NoneKey] = value;
    }

    public bool Remove(object? key)
    {
        key = Markup.Plain(key);
        return IsHashable(key) && _items.Remove(key ?? NoneKey);
    }

    public bool ContainsKey(object? key)
    {
        key = Markup.Plain(key);
        if (!IsHashable(key)) throw new TemplateException($"unhashable type: '{PyOps.TypeName(key)}'");
        return _items.ContainsKey(key ?? NoneKey);
    }

    public IEnumerable<object?> Keys => _items.Keys.Select(k => ReferenceEquals(k, NoneKey) ? null : k);

    public IEnumerable<object?> Values => _items.Values;

    public IEnumerable<KeyValuePair<object?, object?>> Items =>
        _items.Select(kv => new KeyValuePair<object?, object?>(ReferenceEquals(kv.Key, NoneKey) ? null : kv.Key, kv.Value));

    public PyDict Copy()
    {
        var copy = new PyDict();
        foreach (var kv in _items) copy._items[kv.Key] = kv.Value;
        return copy;
    }

    public static bool IsHashable(object? key) => key switch
    {
        null or string or long or double or bool => true,
        PyTuple t => t.Items.All(IsHashable),
        _ => false,
    };

    /// <summary>Python's key equality, with hashes that agree across int, float and bool.</summary>
    private sealed class KeyComparer : IEqualityComparer<object>
    {
        public static readonly KeyComparer Instance = new();

        public new bool Equals(object? x, object? y) => ReferenceEquals(x, y) || PyOps.AreEqual(x, y);

        public int GetHashCode(object obj) => obj switch
        {
            string s => s.GetHashCode(StringComparison.Ordinal),
            bool b => (b ? 1L : 0L).GetHashCode(),
            long l => l.GetHashCode(),
            double d when d == Math.Floor(d) && Math.Abs(d) < 9.2e18 => ((long)d).GetHashCode(),
            double d => d.GetHashCode(),
            PyTuple t => t.Items.Aggregate(17, (h, item) => h * 31 + (item is null ? 0 : GetHashCode(item))),
            _ => obj.GetHashCode(),
        };
    }
}
