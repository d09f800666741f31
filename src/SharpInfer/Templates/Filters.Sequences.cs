namespace SharpInfer.Templates;

internal static partial class Filters
{
    private static object? Length(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("length", [], []);
        return PyOps.Length(value);
    }

    private static object? Default(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("default", ["default_value", "boolean"], ["", false]);
        bool useDefault = value is Undefined || (PyOps.IsTrue(a[1]) && !PyOps.IsTrue(value));
        return useDefault ? a[0] : value;
    }

    private static object? First(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("first", [], []);
        var items = PyOps.Iterate(value);
        return items.Count > 0 ? items[0] : Undefined.WithHint("No first item, sequence was empty.");
    }

    private static object? Last(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("last", [], []);
        var items = PyOps.Iterate(value);
        return items.Count > 0 ? items[^1] : Undefined.WithHint("No last item, sequence was empty.");
    }

    private static object? List(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("list", [], []);
        return PyOps.Iterate(value).ToList();
    }

    private static object? Items(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("items", [], []);
        return value switch
        {
            Undefined => new List<object?>(),
            PyDict dict => dict.Items.Select(kv => (object?)new PyTuple([kv.Key, kv.Value])).ToList(),
            _ => throw new TemplateException("Can only get item pairs from a mapping."),
        };
    }

    private static object? Join(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("join", ["d", "attribute"], ["", null]);
        IEnumerable<object?> items = PyOps.Iterate(value);
        if (a[1] is not null) items = items.Select(AttributeGetter(a[1]));
        var parts = items.Select(PyFormat.Str).ToList();
        var separator = PyFormat.Str(a[0]);
        return PyOps.Concat(parts.SelectMany((p, i) => i == 0 ? new[] { p } : [separator, p]), it.Limits.MaxOutputChars);
    }

    private static object? Reverse(Interpreter it, object? value, CallArgs args)
    {
        args.Bind("reverse", [], []);
        if (Markup.Plain(value) is string s) return KeepMarkup(value, string.Concat(PyOps.CodePoints(s).AsEnumerable().Reverse()));
        return PyOps.Iterate(value).Reverse().ToList();
    }

    private static object? Attr(Interpreter it, object? value, CallArgs args)
    {
        string name = PyFormat.Str(args.Bind("attr", ["name"], [Required])[0]);
        // Attributes only: unlike '.', attr() does not fall back to dict items.
        return value is PyDict && !PyMethods.Has(value, name) ? Undefined.Attribute(value, name) : PyAccess.GetAttribute(value, name);
    }

    /// <summary><c>map(attribute='a.b', default=...)</c> or <c>map('filter', args...)</c>.</summary>
    private static object? Map(Interpreter it, object? value, CallArgs args)
    {
        var items = ItemsIfTrue(value);
        if (args.Positional.Count == 0)
        {
            var attribute = args.Keywords.FirstOrDefault(kv => kv.Key == "attribute");
            if (attribute.Key is null) throw new TemplateException("map requires a filter name or attribute=");
            var fallback = args.Keywords.FirstOrDefault(kv => kv.Key == "default").Value;
            var extra = args.Keywords.FirstOrDefault(kv => kv.Key is not "attribute" and not "default");
            if (extra.Key is not null) throw new TemplateException($"map got an unexpected keyword argument '{extra.Key}'");
            var getter = AttributeGetter(attribute.Value, fallback);
            return items.Select(getter).ToList();
        }
        string filter = PyFormat.Str(args.Positional[0]);
        var rest = args.Skip(1);
        return items.Select(item => Apply(it, filter, item, rest)).ToList();
    }

    /// <summary>map and the select family yield nothing for a false input (None included) instead of failing to iterate it.</summary>
    private static IReadOnlyList<object?> ItemsIfTrue(object? value) => PyOps.IsTrue(value) ? PyOps.Iterate(value) : [];

    private static object? Select(Interpreter it, object? value, CallArgs args) => SelectOrReject(it, value, args, keep: true, byAttribute: false);

    private static object? Reject(Interpreter it, object? value, CallArgs args) => SelectOrReject(it, value, args, keep: false, byAttribute: false);

    private static object? SelectAttr(Interpreter it, object? value, CallArgs args) => SelectOrReject(it, value, args, keep: true, byAttribute: true);

    private static object? RejectAttr(Interpreter it, object? value, CallArgs args) => SelectOrReject(it, value, args, keep: false, byAttribute: true);

    /// <summary>select/reject(test, args...) and selectattr/rejectattr(attribute, test, args...); no test means truthiness.</summary>
    private static object? SelectOrReject(Interpreter it, object? value, CallArgs args, bool keep, bool byAttribute)
    {
        var items = ItemsIfTrue(value);
        int offset = 0;
        Func<object?, object?> getter = x => x;
        if (byAttribute)
        {
            if (args.Positional.Count == 0) throw new TemplateException("selectattr/rejectattr need an attribute name");
            getter = AttributeGetter(args.Positional[0]);
            offset = 1;
        }
        Func<object?, bool> test = PyOps.IsTrue;
        if (args.Positional.Count > offset)
        {
            string name = PyFormat.Str(args.Positional[offset]);
            var rest = args.Skip(offset + 1);
            test = x => Tests.Apply(it, name, x, rest);
        }
        return items.Where(item => test(getter(item)) == keep).ToList();
    }

    private static object? Sort(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("sort", ["reverse", "case_sensitive", "attribute"], [false, false, null]);
        bool caseSensitive = PyOps.IsTrue(a[1]);
        Func<object?, object?> key = a[2] is string attrs && attrs.Contains(',')
            ? MultiKey(attrs, caseSensitive)
            : a[2] is null ? x => IgnoreCase(x, caseSensitive) : AttributeGetter(a[2], ignoreCase: !caseSensitive);
        return SortStable(PyOps.Iterate(value), (x, y) => PyOps.Compare(key(x), key(y)), PyOps.IsTrue(a[0]));
    }

    private static Func<object?, object?> MultiKey(string attributes, bool caseSensitive)
    {
        var getters = attributes.Split(',').Select(p => AttributeGetter(p.Trim(), ignoreCase: !caseSensitive)).ToArray();
        return x => new PyTuple([.. getters.Select(g => g(x))]);
    }

    private static object? DictSort(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("dictsort", ["case_sensitive", "by", "reverse"], [false, "key", false]);
        if (value is not PyDict dict) throw new TemplateException("dictsort expects a mapping");
        int position = PyFormat.Str(a[1]) switch
        {
            "key" => 0,
            "value" => 1,
            _ => throw new TemplateException("You can only sort by either \"key\" or \"value\""),
        };
        bool caseSensitive = PyOps.IsTrue(a[0]);
        var pairs = dict.Items.Select(kv => (object?)new PyTuple([kv.Key, kv.Value]));
        object? Key(object? pair) => IgnoreCase(((PyTuple)pair!).Items[position], caseSensitive);
        return SortStable(pairs, (x, y) => PyOps.Compare(Key(x), Key(y)), PyOps.IsTrue(a[2]));
    }

    private static object? Unique(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("unique", ["case_sensitive", "attribute"], [false, null]);
        var key = a[1] is null ? (x => IgnoreCase(x, PyOps.IsTrue(a[0]))) : AttributeGetter(a[1], ignoreCase: !PyOps.IsTrue(a[0]));
        var seen = new PyDict();
        var result = new List<object?>();
        foreach (var item in PyOps.Iterate(value))
        {
            var k = key(item);
            if (seen.ContainsKey(k)) continue;
            seen.Set(k, null);
            result.Add(item);
        }
        return result;
    }

    private static object? Min(Interpreter it, object? value, CallArgs args) => MinOrMax(value, args, "min", -1);

    private static object? Max(Interpreter it, object? value, CallArgs args) => MinOrMax(value, args, "max", 1);

    private static object? MinOrMax(object? value, CallArgs args, string name, int sign)
    {
        var a = args.Bind(name, ["case_sensitive", "attribute"], [false, null]);
        var key = a[1] is null ? (x => IgnoreCase(x, PyOps.IsTrue(a[0]))) : AttributeGetter(a[1], ignoreCase: !PyOps.IsTrue(a[0]));
        var items = PyOps.Iterate(value);
        if (items.Count == 0) return Undefined.WithHint("No aggregated item, sequence was empty.");
        var best = items[0];
        foreach (var item in items.Skip(1))
        {
            if (PyOps.Compare(key(item), key(best)) * sign > 0) best = item;
        }
        return best;
    }

    private static object? Sum(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("sum", ["attribute", "start"], [null, 0L]);
        IEnumerable<object?> items = PyOps.Iterate(value);
        if (a[0] is not null) items = items.Select(AttributeGetter(a[0]));
        return items.Aggregate(a[1], (total, item) => PyOps.Binary(BinaryOp.Add, total, item, it.Limits));
    }

    private static object? Batch(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("batch", ["linecount", "fill_with"], [Required, null]);
        long size = ToInteger(a[0], "batch");
        if (size <= 0) throw new TemplateException("batch size must be positive");
        var items = PyOps.Iterate(value);
        var batches = new List<object?>();
        for (int i = 0; i < items.Count; i += (int)Math.Min(size, int.MaxValue))
        {
            var batch = items.Skip(i).Take((int)Math.Min(size, int.MaxValue)).ToList();
            if (a[1] is not null) while (batch.Count < size) batch.Add(a[1]);
            batches.Add(batch);
        }
        return batches;
    }

    private static object? Slice(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("slice", ["slices", "fill_with"], [Required, null]);
        long slices = ToInteger(a[0], "slice");
        if (slices <= 0) throw new TemplateException("slice count must be positive");
        it.CheckItems(slices);
        var items = PyOps.Iterate(value);
        int perSlice = (int)(items.Count / slices), extra = (int)(items.Count % slices), offset = 0;
        var result = new List<object?>();
        for (int i = 0; i < slices; i++)
        {
            int start = offset + i * perSlice;
            if (i < extra) offset++;
            int end = offset + (i + 1) * perSlice;
            var part = items.Skip(start).Take(end - start).ToList();
            if (a[1] is not null && i >= extra) part.Add(a[1]);
            result.Add(part);
        }
        return result;
    }

    /// <summary><c>groupby(attribute, default=None, case_sensitive=False)</c>: (grouper, list) named tuples sorted by the grouper.</summary>
    private static object? GroupBy(Interpreter it, object? value, CallArgs args)
    {
        var a = args.Bind("groupby", ["attribute", "default", "case_sensitive"], [Required, null, false]);
        bool caseSensitive = PyOps.IsTrue(a[2]);
        var key = AttributeGetter(a[0], a[1], ignoreCase: !caseSensitive);
        var output = AttributeGetter(a[0], a[1]);
        var sorted = SortStable(PyOps.Iterate(value), (x, y) => PyOps.Compare(key(x), key(y)), false);
        var groups = new List<object?>();
        List<object?>? current = null;
        object? currentKey = null;
        foreach (var item in sorted)
        {
            var k = key(item);
            if (current is null || !PyOps.AreEqual(k, currentKey))
            {
                current = [];
                currentKey = k;
                groups.Add(new PyTuple([output(item), current], ["grouper", "list"]));
            }
            current.Add(item);
        }
        return groups;
    }
}
