namespace SharpInfer.Templates;

/// <summary>Evaluated call arguments.</summary>
internal sealed class CallArgs(List<object?> positional, List<KeyValuePair<string, object?>> keywords)
{
    public static CallArgs None => new([], []);

    public List<object?> Positional { get; } = positional;

    public List<KeyValuePair<string, object?>> Keywords { get; } = keywords;

    /// <summary>The arguments after the first <paramref name="count"/> positional ones (for filters handing on to a test or filter).</summary>
    public CallArgs Skip(int count) => new([.. Positional.Skip(count)], Keywords);

    /// <summary>
    /// Binds the arguments to named parameters (positional first, then by keyword), as Python would; raises on
    /// too many arguments, unknown keywords or a parameter given twice.
    /// </summary>
    public object?[] Bind(string callee, string[] names, object?[] defaults)
    {
        if (Positional.Count > names.Length)
        {
            throw new TemplateException($"{callee} takes at most {names.Length} argument(s) ({Positional.Count} given)");
        }
        var values = new object?[names.Length];
        var given = new bool[names.Length];
        for (int i = 0; i < Positional.Count; i++)
        {
            values[i] = Positional[i];
            given[i] = true;
        }
        foreach (var (name, value) in Keywords)
        {
            int index = Array.IndexOf(names, name);
            if (index < 0) throw new TemplateException($"{callee} got an unexpected keyword argument '{name}'");
            if (given[index]) throw new TemplateException($"{callee} got multiple values for argument '{name}'");
            values[index] = value;
            given[index] = true;
        }
        for (int i = 0; i < names.Length; i++)
        {
            if (given[i]) continue;
            if (i >= defaults.Length || defaults[i] is Required) throw new TemplateException($"{callee} missing required argument '{names[i]}'");
            values[i] = defaults[i];
        }
        return values;
    }

    /// <summary>Marks a parameter without a default in <see cref="Bind"/>.</summary>
    public sealed class Required
    {
        public static readonly Required Value = new();
    }
}

/// <summary>Anything a template can call: macros, built-in functions, bound methods, <c>loop</c> in recursive loops.</summary>
internal abstract class PyCallable
{
    public abstract string Name { get; }

    public abstract object? Call(Interpreter interpreter, CallArgs args);
}

/// <summary>A built-in global function (range, dict, namespace, raise_exception, ...).</summary>
internal sealed class BuiltinFunction(string name, Func<Interpreter, CallArgs, object?> body) : PyCallable
{
    public override string Name { get; } = name;

    public override object? Call(Interpreter interpreter, CallArgs args) => body(interpreter, args);
}

/// <summary>A method looked up on a value (<c>"a,b".split</c>, <c>messages.append</c>, <c>loop.cycle</c>), called later.</summary>
internal sealed class BoundMethod(object receiver, string name) : PyCallable
{
    public object Receiver { get; } = receiver;

    public override string Name { get; } = name;

    public override object? Call(Interpreter interpreter, CallArgs args) => PyMethods.Call(interpreter, Receiver, Name, args);
}
