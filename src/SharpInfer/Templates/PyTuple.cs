using System.Collections;

namespace SharpInfer.Templates;

/// <summary>An immutable Python tuple; <see cref="FieldNames"/> makes it a named tuple (<c>groupby</c> results).</summary>
internal sealed class PyTuple(object?[] items, string[]? fieldNames = null) : IReadOnlyList<object?>
{
    public static readonly PyTuple Empty = new([]);

    public object?[] Items { get; } = items;

    public string[]? FieldNames { get; } = fieldNames;

    public int Count => Items.Length;

    public object? this[int index] => Items[index];

    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)Items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => Items.GetEnumerator();
}

/// <summary>Python's <c>range</c> object: an immutable sequence of integers.</summary>
internal sealed class PyRange : IReadOnlyList<object?>
{
    public PyRange(long start, long stop, long step)
    {
        if (step == 0) throw new TemplateException("range() arg 3 must not be zero");
        Start = start;
        Stop = stop;
        Step = step;
        long span = step > 0 ? stop - start : start - stop;
        long stepSize = Math.Abs(step);
        LongCount = span <= 0 ? 0 : (span + stepSize - 1) / stepSize;
    }

    public long Start { get; }

    public long Stop { get; }

    public long Step { get; }

    public long LongCount { get; }

    public int Count => (int)LongCount;

    public object? this[int index] => Start + index * Step;

    public IEnumerator<object?> GetEnumerator()
    {
        for (long i = 0; i < LongCount; i++) yield return Start + i * Step;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => Step == 1 ? $"range({Start}, {Stop})" : $"range({Start}, {Stop}, {Step})";
}

/// <summary>The object <c>namespace(...)</c> returns: attributes that can be assigned from inside loops.</summary>
internal sealed class TemplateNamespace
{
    public OrderedDictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}
