namespace SharpInfer.Templates;

/// <summary>The Python methods templates call on values: str, dict and list methods, and <c>loop.cycle</c>/<c>loop.changed</c>.</summary>
internal static partial class PyMethods
{
    private static readonly HashSet<string> StringMethods =
    [
        "strip", "lstrip", "rstrip", "startswith", "endswith", "split", "rsplit", "splitlines", "lower", "upper", "title",
        "capitalize", "swapcase", "casefold", "replace", "format", "find", "rfind", "index", "rindex", "count", "join",
        "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper", "isnumeric", "isdecimal", "istitle",
        "center", "ljust", "rjust", "zfill", "partition", "rpartition", "removeprefix", "removesuffix", "expandtabs",
    ];

    private static readonly HashSet<string> DictMethods = ["items", "keys", "values", "get", "pop", "copy", "update", "setdefault", "clear"];

    private static readonly HashSet<string> ListMethods = ["append", "extend", "insert", "pop", "remove", "index", "count", "reverse", "sort", "copy", "clear"];

    private static readonly HashSet<string> TupleMethods = ["index", "count"];

    public static bool Has(object target, string name) => target switch
    {
        string or Markup => StringMethods.Contains(name),
        PyDict => DictMethods.Contains(name),
        List<object?> => ListMethods.Contains(name),
        PyTuple or PyRange => TupleMethods.Contains(name),
        Cycler => name is "next" or "reset",
        _ => false,
    };

    public static object? Call(Interpreter interpreter, object receiver, string name, CallArgs args) => receiver switch
    {
        string s => CallString(interpreter, s, name, args),
        Markup m => CallMarkup(interpreter, m, name, args),
        PyDict d => CallDict(d, name, args),
        List<object?> l => CallList(interpreter, l, name, args),
        PyTuple or PyRange => CallSequence((IReadOnlyList<object?>)receiver, name, args),
        LoopContext loop when name == "cycle" => loop.Cycle(args),
        LoopContext loop when name == "changed" => loop.Changed(args),
        Cycler cycler when name == "next" => cycler.Next(),
        Cycler cycler when name == "reset" => Reset(cycler),
        _ => throw new TemplateException($"'{PyOps.TypeName(receiver)}' object has no method '{name}'"),
    };

    // The str methods markupsafe overrides to return Markup; their string arguments are escaped first.
    private static readonly HashSet<string> MarkupMethods =
    [
        "capitalize", "title", "lower", "upper", "replace", "ljust", "rjust", "lstrip", "rstrip", "center", "strip",
        "expandtabs", "swapcase", "zfill", "casefold", "removeprefix", "removesuffix", "partition", "rpartition",
        "format", "join", "split", "rsplit", "splitlines",
    ];

    private static object? CallMarkup(Interpreter interpreter, Markup markup, string name, CallArgs args)
    {
        if (!MarkupMethods.Contains(name)) return CallString(interpreter, markup.Text, name, Plain(args));
        var escaped = name == "join"
            ? new CallArgs([.. args.Positional.Select(a => (object?)PyOps.Iterate(a).Select(item => (object?)Markup.Escape(item).Text).ToList())], args.Keywords)
            : new CallArgs([.. args.Positional.Select(EscapeString)], [.. args.Keywords.Select(kv => new KeyValuePair<string, object?>(kv.Key, EscapeString(kv.Value)))]);
        return Markup.Wrap(CallString(interpreter, markup.Text, name, escaped));
    }

    private static object? EscapeString(object? value) => value is string or Markup ? Markup.Escape(value).Text : value;

    private static CallArgs Plain(CallArgs args) =>
        new([.. args.Positional.Select(Markup.Plain)], [.. args.Keywords.Select(kv => new KeyValuePair<string, object?>(kv.Key, Markup.Plain(kv.Value)))]);

    private static object? Reset(Cycler cycler)
    {
        cycler.Reset();
        return null;
    }

    private static object? CallDict(PyDict dict, string name, CallArgs args)
    {
        string callee = $"dict.{name}()";
        switch (name)
        {
            case "items": args.Bind(callee, [], []); return dict.Items.Select(kv => (object?)new PyTuple([kv.Key, kv.Value])).ToList();
            case "keys": args.Bind(callee, [], []); return dict.Keys.ToList();
            case "values": args.Bind(callee, [], []); return dict.Values.ToList();
            case "copy": args.Bind(callee, [], []); return dict.Copy();
            case "clear":
                args.Bind(callee, [], []);
                foreach (var key in dict.Keys.ToList()) dict.Remove(key);
                return null;
            case "get":
            {
                var a = args.Bind(callee, ["key", "default"], [CallArgs.Required.Value, null]);
                return dict.TryGet(a[0], out var value) ? value : a[1];
            }
            case "setdefault":
            {
                var a = args.Bind(callee, ["key", "default"], [CallArgs.Required.Value, null]);
                if (dict.TryGet(a[0], out var value)) return value;
                dict.Set(a[0], a[1]);
                return a[1];
            }
            case "pop":
            {
                var a = args.Bind(callee, ["key", "default"], [CallArgs.Required.Value, Missing]);
                if (dict.TryGet(a[0], out var value))
                {
                    dict.Remove(a[0]);
                    return value;
                }
                return ReferenceEquals(a[1], Missing) ? throw new TemplateException($"KeyError: {PyFormat.Repr(a[0])}") : a[1];
            }
            default: // update
                foreach (var source in args.Positional)
                {
                    if (source is not PyDict other) throw new TemplateException("dict.update() takes a mapping");
                    foreach (var (key, value) in other.Items) dict.Set(key, value);
                }
                foreach (var (key, value) in args.Keywords) dict.Set(key, value);
                return null;
        }
    }

    private static readonly object Missing = new();

    private static object? CallList(Interpreter interpreter, List<object?> list, string name, CallArgs args)
    {
        string callee = $"list.{name}()";
        switch (name)
        {
            case "append":
                interpreter.CheckItems(list.Count + 1);
                list.Add(args.Bind(callee, ["item"], [CallArgs.Required.Value])[0]);
                return null;
            case "extend":
            {
                var items = PyOps.Iterate(args.Bind(callee, ["iterable"], [CallArgs.Required.Value])[0]);
                interpreter.CheckItems(list.Count + items.Count);
                list.AddRange(items);
                return null;
            }
            case "insert":
            {
                var a = args.Bind(callee, ["index", "item"], [CallArgs.Required.Value, CallArgs.Required.Value]);
                interpreter.CheckItems(list.Count + 1);
                long i = Filters.ToInteger(a[0], callee);
                if (i < 0) i += list.Count;
                list.Insert((int)Math.Clamp(i, 0, list.Count), a[1]);
                return null;
            }
            case "pop":
            {
                var a = args.Bind(callee, ["index"], [-1L]);
                if (list.Count == 0) throw new TemplateException("pop from empty list");
                long i = Filters.ToInteger(a[0], callee);
                if (i < 0) i += list.Count;
                if (i < 0 || i >= list.Count) throw new TemplateException("pop index out of range");
                var value = list[(int)i];
                list.RemoveAt((int)i);
                return value;
            }
            case "remove":
            {
                var item = args.Bind(callee, ["value"], [CallArgs.Required.Value])[0];
                int index = list.FindIndex(x => PyOps.AreEqual(x, item));
                if (index < 0) throw new TemplateException("list.remove(x): x not in list");
                list.RemoveAt(index);
                return null;
            }
            case "reverse": args.Bind(callee, [], []); list.Reverse(); return null;
            case "clear": args.Bind(callee, [], []); list.Clear(); return null;
            case "copy": args.Bind(callee, [], []); return new List<object?>(list);
            case "sort":
            {
                var a = args.Bind(callee, ["reverse"], [false]);
                var sorted = Filters.SortStable(list, (x, y) => PyOps.Compare(x, y), PyOps.IsTrue(a[0]));
                list.Clear();
                list.AddRange(sorted);
                return null;
            }
            default: return CallSequence(list, name, args);
        }
    }

    private static object? CallSequence(IReadOnlyList<object?> items, string name, CallArgs args)
    {
        var value = args.Bind($"{name}()", ["value"], [CallArgs.Required.Value])[0];
        if (name == "count") return (long)items.Count(x => PyOps.AreEqual(x, value));
        for (int i = 0; i < items.Count; i++)
        {
            if (PyOps.AreEqual(items[i], value)) return (long)i;
        }
        throw new TemplateException($"{PyFormat.Repr(value)} is not in list");
    }
}
