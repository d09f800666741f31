namespace SharpInfer.Templates;

/// <summary>
/// The functions every template can call: Jinja2's globals (range, dict, namespace, cycler, joiner) and the two
/// Hugging Face adds for chat templates (raise_exception, strftime_now).
/// </summary>
internal static class Globals
{
    public static void AddTo(Scope scope, DateTimeOffset now)
    {
        scope.Set("range", new BuiltinFunction("range", Range));
        scope.Set("dict", new BuiltinFunction("dict", Dict));
        scope.Set("namespace", new BuiltinFunction("namespace", Namespace));
        scope.Set("cycler", new BuiltinFunction("cycler", (_, args) => new Cycler([.. args.Positional])));
        scope.Set("joiner", new BuiltinFunction("joiner", Joiner));
        scope.Set("raise_exception", new BuiltinFunction("raise_exception", RaiseException));
        scope.Set("strftime_now", new BuiltinFunction("strftime_now", (_, args) =>
            PyStrftime.Format(now, PyFormat.Str(args.Bind("strftime_now()", ["format"], [CallArgs.Required.Value])[0]))));
    }

    private static object? RaiseException(Interpreter it, CallArgs args)
    {
        var message = args.Bind("raise_exception()", ["message"], [CallArgs.Required.Value])[0];
        throw new TemplateException(PyFormat.Str(message), raisedByTemplate: true);
    }

    /// <summary><c>range(stop)</c> / <c>range(start, stop[, step])</c>, refused beyond 100,000 items as in Jinja2's sandbox.</summary>
    private static object? Range(Interpreter it, CallArgs args)
    {
        if (args.Keywords.Count > 0) throw new TemplateException("range() takes no keyword arguments");
        var numbers = args.Positional.Select(v => Filters.ToInteger(v, "range()")).ToArray();
        var range = numbers.Length switch
        {
            1 => new PyRange(0, numbers[0], 1),
            2 => new PyRange(numbers[0], numbers[1], 1),
            3 => new PyRange(numbers[0], numbers[1], numbers[2]),
            _ => throw new TemplateException($"range expected 1 to 3 arguments, got {numbers.Length}"),
        };
        if (range.LongCount > Limits.MaxRange)
        {
            throw new TemplateException($"range too big: {range.LongCount} items (the limit is {Limits.MaxRange}, as in Jinja2's sandbox)");
        }
        return range;
    }

    private static object? Dict(Interpreter it, CallArgs args)
    {
        var dict = new PyDict();
        if (args.Positional.Count > 1) throw new TemplateException($"dict expected at most 1 argument, got {args.Positional.Count}");
        if (args.Positional.Count == 1)
        {
            if (args.Positional[0] is PyDict source)
            {
                foreach (var (key, value) in source.Items) dict.Set(key, value);
            }
            else
            {
                foreach (var pair in PyOps.Iterate(args.Positional[0]))
                {
                    var items = PyOps.Iterate(pair);
                    if (items.Count != 2) throw new TemplateException("dictionary update sequence element has the wrong length; 2 is required");
                    dict.Set(items[0], items[1]);
                }
            }
        }
        foreach (var (key, value) in args.Keywords) dict.Set(key, value);
        return dict;
    }

    private static object? Namespace(Interpreter it, CallArgs args)
    {
        var ns = new TemplateNamespace();
        var initial = (PyDict)Dict(it, args)!;
        foreach (var (key, value) in initial.Items)
        {
            ns.Attributes[key as string ?? throw new TemplateException("namespace() keys must be strings")] = value;
        }
        return ns;
    }

    private static object? Joiner(Interpreter it, CallArgs args)
    {
        string separator = PyFormat.Str(args.Bind("joiner()", ["sep"], [", "])[0]);
        bool used = false;
        return new BuiltinFunction("joiner", (_, callArgs) =>
        {
            callArgs.Bind("joiner()", [], []);
            if (used) return separator;
            used = true;
            return "";
        });
    }
}

/// <summary>Jinja2's <c>cycler(items...)</c>: <c>next()</c>, <c>reset()</c> and <c>current</c>.</summary>
internal sealed class Cycler(object?[] items)
{
    private int _position;

    public object? Current => items.Length == 0 ? Undefined.WithHint("the cycler is empty") : items[_position];

    public object? Next()
    {
        var value = Current;
        if (items.Length > 0) _position = (_position + 1) % items.Length;
        return value;
    }

    public void Reset() => _position = 0;
}
