namespace SharpInfer.Templates;

/// <summary>The <c>loop</c> variable of a for loop.</summary>
internal sealed class LoopContext(IReadOnlyList<object?> items, int depth, Func<object?, string>? recurse)
{
    private object? _lastChanged = Sentinel;
    private static readonly object Sentinel = new();

    public int Index0 { get; set; }

    public int Depth { get; } = depth;

    public int Length => items.Count;

    /// <summary>The attribute <paramref name="name"/> of the loop, or null when it has none.</summary>
    public bool TryGetAttribute(string name, out object? value)
    {
        value = name switch
        {
            "index" => (long)(Index0 + 1),
            "index0" => (long)Index0,
            "revindex" => (long)(Length - Index0),
            "revindex0" => (long)(Length - Index0 - 1),
            "first" => Index0 == 0,
            "last" => Index0 == Length - 1,
            "length" => (long)Length,
            "depth" => (long)Depth,
            "depth0" => (long)(Depth - 1),
            "previtem" => Index0 > 0 ? items[Index0 - 1] : Undefined.WithHint("there is no previous item"),
            "nextitem" => Index0 + 1 < Length ? items[Index0 + 1] : Undefined.WithHint("there is no next item"),
            "cycle" or "changed" => new BoundMethod(this, name),
            _ => Sentinel,
        };
        return !ReferenceEquals(value, Sentinel);
    }

    public object? Cycle(CallArgs args)
    {
        if (args.Positional.Count == 0) throw new TemplateException("no items for cycling given");
        return args.Positional[Index0 % args.Positional.Count];
    }

    public bool Changed(CallArgs args)
    {
        var current = new PyTuple([.. args.Positional]);
        if (!ReferenceEquals(_lastChanged, Sentinel) && PyOps.AreEqual(_lastChanged, current)) return false;
        _lastChanged = current;
        return true;
    }

    /// <summary>Calling <c>loop(items)</c> in a recursive loop renders the loop body over <paramref name="iterable"/> one level deeper.</summary>
    public string Recurse(object? iterable) =>
        recurse is null ? throw new TemplateException("the loop is not recursive: add 'recursive' to the for tag to call loop()") : recurse(iterable);

    public override string ToString() => $"<LoopContext {Index0 + 1}/{Length}>";
}
