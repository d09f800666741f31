namespace SharpInfer.Templates;

/// <summary>
/// Attribute and item access as Jinja2 does it: <c>x.name</c> tries an attribute (a method) first and then the item,
/// <c>x[key]</c> the item first and then the attribute; what is missing is an <see cref="Undefined"/>.
/// </summary>
internal static class PyAccess
{
    public static object? GetAttribute(object? target, string name)
    {
        switch (target)
        {
            case Undefined u: throw u.Error();
            case LoopContext loop: return loop.TryGetAttribute(name, out var value) ? value : Undefined.Attribute(target, name);
            case TemplateNamespace ns: return ns.Attributes.TryGetValue(name, out var attr) ? attr : Undefined.Attribute(target, name);
            case Cycler cycler when name == "current": return cycler.Current;
            case PyTuple { FieldNames: { } fields } tuple when Array.IndexOf(fields, name) is int i and >= 0: return tuple.Items[i];
        }
        if (target is not null && PyMethods.Has(target, name)) return new BoundMethod(target, name);
        if (target is PyDict dict && dict.TryGet(name, out var item)) return item;
        return Undefined.Attribute(target, name);
    }

    public static object? GetItem(object? target, object? key)
    {
        key = Markup.Plain(key);
        if (target is Markup markup && PyOps.TryInteger(key, out _)) return Markup.Wrap(GetItem(markup.Text, key));
        switch (target)
        {
            case Undefined u: throw u.Error();
            case PyDict dict:
                if (dict.TryGet(key, out var value)) return value;
                break;
            case string s when PyOps.TryInteger(key, out long index):
                return ItemOfString(s, index) ?? (object)Undefined.Item(target, key);
            case IReadOnlyList<object?> or List<object?> when PyOps.TryInteger(key, out long index):
            {
                var list = PyOps.Iterate(target);
                long i = index < 0 ? index + list.Count : index;
                return i >= 0 && i < list.Count ? list[(int)i] : Undefined.Item(target, key);
            }
        }
        if (key is string name && target is not null && target is not PyDict) return GetAttribute(target, name);
        if (key is string methodName && target is PyDict && PyMethods.Has(target, methodName)) return new BoundMethod(target, methodName);
        return Undefined.Item(target, key);
    }

    private static string? ItemOfString(string s, long index)
    {
        if (!s.Any(char.IsSurrogate))
        {
            long i = index < 0 ? index + s.Length : index;
            return i >= 0 && i < s.Length ? s[(int)i].ToString() : null;
        }
        var points = PyOps.CodePoints(s);
        long j = index < 0 ? index + points.Count : index;
        return j >= 0 && j < points.Count ? points[(int)j] : null;
    }

    /// <summary><c>x[start:stop:step]</c> on strings, lists and tuples, with Python's index clamping.</summary>
    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        if (target is Undefined u) throw u.Error();
        if (target is Markup markup) return Markup.Wrap(Slice(markup.Text, start, stop, step));
        long stepValue = SliceIndex(step) ?? 1;
        if (stepValue == 0) throw new TemplateException("slice step cannot be zero");
        switch (target)
        {
            case string s:
                var points = PyOps.CodePoints(s);
                return string.Concat(SliceIndices(points.Count, start, stop, stepValue).Select(i => points[i]));
            case PyTuple tuple:
                return new PyTuple([.. SliceIndices(tuple.Count, start, stop, stepValue).Select(i => tuple.Items[i])]);
            case IReadOnlyList<object?> or List<object?>:
                var items = PyOps.Iterate(target);
                return SliceIndices(items.Count, start, stop, stepValue).Select(i => items[i]).ToList();
        }
        throw new TemplateException($"'{PyOps.TypeName(target)}' object is not subscriptable");
    }

    private static long? SliceIndex(object? value)
    {
        if (value is null) return null;
        if (PyOps.TryInteger(value, out long i)) return i;
        throw new TemplateException("slice indices must be integers or None");
    }

    private static IEnumerable<int> SliceIndices(int length, object? start, object? stop, long step)
    {
        long lower = step > 0 ? 0 : -1, upper = step > 0 ? length : length - 1;
        long Clamp(long? index, long fallback)
        {
            if (index is not long i) return fallback;
            if (i < 0) i += length;
            return Math.Clamp(i, lower, upper);
        }
        long from = Clamp(SliceIndex(start), step > 0 ? lower : upper);
        long to = Clamp(SliceIndex(stop), step > 0 ? upper : lower);
        for (long i = from; step > 0 ? i < to : i > to; i += step) yield return (int)i;
    }
}
