namespace SharpInfer.Templates;

/// <summary>The tests (<c>value is name(args)</c>), with Jinja2's names and semantics.</summary>
internal static class Tests
{
    private delegate bool Test(Interpreter interpreter, object? value, CallArgs args);

    private static readonly Dictionary<string, Test> Registry = new(StringComparer.Ordinal)
    {
        ["defined"] = (_, v, a) => NoArgs(a, "defined") && v is not Undefined,
        ["undefined"] = (_, v, a) => NoArgs(a, "undefined") && v is Undefined,
        ["none"] = (_, v, a) => NoArgs(a, "none") && v is null,
        ["boolean"] = (_, v, a) => NoArgs(a, "boolean") && v is bool,
        ["true"] = (_, v, a) => NoArgs(a, "true") && v is true,
        ["false"] = (_, v, a) => NoArgs(a, "false") && v is false,
        ["integer"] = (_, v, a) => NoArgs(a, "integer") && v is long,
        ["float"] = (_, v, a) => NoArgs(a, "float") && v is double,
        ["number"] = (_, v, a) => NoArgs(a, "number") && PyOps.IsNumber(v),
        ["string"] = (_, v, a) => NoArgs(a, "string") && v is string or Markup,
        ["mapping"] = (_, v, a) => NoArgs(a, "mapping") && v is PyDict,
        ["iterable"] = (_, v, a) => NoArgs(a, "iterable") && PyOps.IsIterable(v),
        // Python's "has __len__ and __getitem__": Undefined has both (they raise), dicts too.
        ["sequence"] = (_, v, a) => NoArgs(a, "sequence") && PyOps.IsIterable(v),
        // Undefined is callable in Jinja2 (calling it raises).
        ["callable"] = (_, v, a) => NoArgs(a, "callable") && v is PyCallable or LoopContext or Undefined,
        ["escaped"] = (_, v, a) => NoArgs(a, "escaped") && v is Markup,
        ["odd"] = (it, v, a) => NoArgs(a, "odd") && Remainder(it, v, 2L) is var r && PyOps.AreEqual(r, 1L),
        ["even"] = (it, v, a) => NoArgs(a, "even") && Remainder(it, v, 2L) is var r && PyOps.AreEqual(r, 0L),
        ["divisibleby"] = (it, v, a) => PyOps.AreEqual(Remainder(it, v, One(a, "divisibleby")), 0L),
        ["lower"] = (_, v, a) => NoArgs(a, "lower") && PyFormat.Str(v) is var s && s.Any(char.IsLower) && !s.Any(char.IsUpper),
        ["upper"] = (_, v, a) => NoArgs(a, "upper") && PyFormat.Str(v) is var s && s.Any(char.IsUpper) && !s.Any(char.IsLower),
        ["sameas"] = (_, v, a) => SameAs(v, One(a, "sameas")),
        ["in"] = (_, v, a) => PyOps.Contains(One(a, "in"), v),
        ["filter"] = (_, v, a) => NoArgs(a, "filter") && v is string name && Filters.Exists(name),
        ["test"] = (_, v, a) => NoArgs(a, "test") && v is string name && Registry!.ContainsKey(name),
        ["eq"] = (_, v, a) => PyOps.AreEqual(v, One(a, "eq")),
        ["ne"] = (_, v, a) => !PyOps.AreEqual(v, One(a, "ne")),
        ["lt"] = (_, v, a) => PyOps.Compare(v, One(a, "lt"), "<") < 0,
        ["le"] = (_, v, a) => PyOps.Compare(v, One(a, "le"), "<=") <= 0,
        ["gt"] = (_, v, a) => PyOps.Compare(v, One(a, "gt"), ">") > 0,
        ["ge"] = (_, v, a) => PyOps.Compare(v, One(a, "ge"), ">=") >= 0,
    };

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["equalto"] = "eq", ["=="] = "eq", ["!="] = "ne", ["lessthan"] = "lt", ["<"] = "lt", ["<="] = "le",
        ["greaterthan"] = "gt", [">"] = "gt", [">="] = "ge",
    };

    public static bool Exists(string name) => Registry.ContainsKey(name) || Aliases.ContainsKey(name);

    public static string UnknownMessage(string name) => $"no test named '{name}'";

    public static bool Apply(Interpreter interpreter, string name, object? value, CallArgs args)
    {
        if (Aliases.TryGetValue(name, out var canonical)) name = canonical;
        if (!Registry.TryGetValue(name, out var test)) throw new TemplateException(UnknownMessage(name));
        return test(interpreter, value, args);
    }

    private static bool NoArgs(CallArgs args, string name)
    {
        args.Bind($"test '{name}'", [], []);
        return true;
    }

    private static object? One(CallArgs args, string name) => args.Bind($"test '{name}'", ["other"], [CallArgs.Required.Value])[0];

    private static object? Remainder(Interpreter it, object? value, object? divisor) => PyOps.Binary(BinaryOp.Modulo, value, divisor, it.Limits);

    /// <summary>Python's identity for the values a template can name: singletons, the small-int cache, the same object.</summary>
    private static bool SameAs(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (bool x, bool y) => x == y,
        (long x, long y) => x == y && x is >= -5 and <= 256,
        (string x, string y) => ReferenceEquals(x, y) || (x.Length <= 1 && x == y),
        _ => a is not null && ReferenceEquals(a, b),
    };
}
