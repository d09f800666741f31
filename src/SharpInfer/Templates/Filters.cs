namespace SharpInfer.Templates;

/// <summary>The filters (<c>value | name(args)</c>), with Jinja2's names, arguments and results.</summary>
internal static partial class Filters
{
    private delegate object? Filter(Interpreter interpreter, object? value, CallArgs args);

    private static readonly Dictionary<string, Filter> Registry = new(StringComparer.Ordinal)
    {
        ["abs"] = Abs, ["attr"] = Attr, ["batch"] = Batch, ["capitalize"] = Capitalize, ["center"] = Center,
        ["count"] = Length, ["d"] = Default, ["default"] = Default, ["dictsort"] = DictSort, ["e"] = Escape,
        ["escape"] = Escape, ["first"] = First, ["float"] = Float, ["forceescape"] = ForceEscape, ["format"] = Format,
        ["groupby"] = GroupBy, ["indent"] = Indent, ["int"] = Int, ["items"] = Items, ["join"] = Join, ["last"] = Last,
        ["length"] = Length, ["list"] = List, ["lower"] = Lower, ["map"] = Map, ["max"] = Max, ["min"] = Min,
        ["reject"] = Reject, ["rejectattr"] = RejectAttr, ["replace"] = Replace, ["reverse"] = Reverse,
        ["round"] = Round, ["safe"] = Safe, ["select"] = Select, ["selectattr"] = SelectAttr, ["slice"] = Slice,
        ["sort"] = Sort, ["string"] = ToStr, ["sum"] = Sum, ["title"] = Title, ["tojson"] = ToJson, ["trim"] = Trim,
        ["truncate"] = Truncate, ["unique"] = Unique, ["upper"] = Upper, ["wordcount"] = WordCount,
    };

    /// <summary>Jinja2 filters this engine leaves out (HTML and randomness have no place in a chat prompt).</summary>
    private static readonly HashSet<string> Unsupported = ["filesizeformat", "pprint", "random", "striptags", "urlencode", "urlize", "wordwrap", "xmlattr"];

    public static bool Exists(string name) => Registry.ContainsKey(name);

    public static string UnknownMessage(string name) => Unsupported.Contains(name)
        ? $"the filter '{name}' is not supported"
        : $"no filter named '{name}'";

    public static object? Apply(Interpreter interpreter, string name, object? value, CallArgs args)
    {
        if (!Registry.TryGetValue(name, out var filter)) throw new TemplateException(UnknownMessage(name));
        return filter(interpreter, value, args);
    }

    /// <summary>An integer argument (bools count; floats are refused as Python does).</summary>
    public static long ToInteger(object? value, string callee)
    {
        if (PyOps.TryInteger(value, out long l)) return l;
        if (value is Undefined u) throw u.Error();
        throw new TemplateException($"{callee}: '{PyOps.TypeName(value)}' object cannot be interpreted as an integer");
    }

    /// <summary>A stable sort by a Python comparison (List.Sort is not stable; Python's sort is).</summary>
    public static List<object?> SortStable(IEnumerable<object?> items, Comparison<object?> compare, bool descending)
    {
        var indexed = items.Select((item, index) => (item, index)).ToList();
        indexed.Sort((a, b) =>
        {
            int c = compare(a.item, b.item);
            if (descending) c = -c;
            return c != 0 ? c : a.index.CompareTo(b.index);
        });
        return indexed.Select(x => x.item).ToList();
    }

    /// <summary>
    /// Jinja2's attribute getter for <c>map</c>, <c>sort</c>, <c>selectattr</c> and friends: a dotted path whose
    /// parts are looked up as items (numbers as indices), with an optional default for undefined results.
    /// </summary>
    private static Func<object?, object?> AttributeGetter(object? attribute, object? fallback = null, bool ignoreCase = false)
    {
        var parts = attribute switch
        {
            string s => s.Split('.').Select(p => long.TryParse(p, out long i) ? (object)i : p).ToArray(),
            long l => [l],
            _ => throw new TemplateException($"attribute must be a string, not '{PyOps.TypeName(attribute)}'"),
        };
        return item =>
        {
            foreach (var part in parts)
            {
                item = PyAccess.GetItem(item, part);
                if (item is Undefined && fallback is not null) item = fallback;
            }
            return ignoreCase && item is string text ? text.ToLowerInvariant() : item;
        };
    }

    private static object? IgnoreCase(object? value, bool caseSensitive) =>
        !caseSensitive && value is string s ? s.ToLowerInvariant() : value;
}
