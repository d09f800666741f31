namespace SharpInfer.Templates;

/// <summary>
/// A macro (or the <c>caller</c> of a call block). It sees the scope it was defined in as it is at call time, binds
/// its parameters in a scope of its own and returns what its body renders.
/// </summary>
internal sealed class Macro(string name, IReadOnlyList<Parameter> parameters, IReadOnlyList<Node> body, MacroUses uses, Scope closure) : PyCallable
{
    public override string Name { get; } = name;

    public override object? Call(Interpreter interpreter, CallArgs args) => interpreter.Invoke(this, args);

    public IReadOnlyList<Parameter> Parameters { get; } = parameters;

    public IReadOnlyList<Node> Body { get; } = body;

    public MacroUses Uses { get; } = uses;

    public Scope Closure { get; } = closure;
}

internal sealed partial class Interpreter
{
    public string Invoke(Macro macro, CallArgs args)
    {
        EnterCall($"macro '{macro.Name}'");
        try
        {
            var scope = BindArguments(macro, args);
            var output = new TemplateOutput(Limits.MaxOutputChars);
            Execute(macro.Body, scope, output);
            return output.ToString();
        }
        finally
        {
            _callDepth--;
        }
    }

    private Scope BindArguments(Macro macro, CallArgs args)
    {
        var scope = new Scope(macro.Closure);
        var parameters = macro.Parameters;
        var bound = new bool[parameters.Count];
        if (args.Positional.Count > parameters.Count && !macro.Uses.HasFlag(MacroUses.VarArgs))
        {
            throw new TemplateException($"macro '{macro.Name}' takes not more than {parameters.Count} argument(s)");
        }
        for (int i = 0; i < Math.Min(parameters.Count, args.Positional.Count); i++)
        {
            scope.Set(parameters[i].Name, args.Positional[i]);
            bound[i] = true;
        }
        var kwargs = new PyDict();
        bool hasCaller = false;
        foreach (var (key, value) in args.Keywords)
        {
            int index = parameters.ToList().FindIndex(p => p.Name == key);
            if (index >= 0)
            {
                if (bound[index]) throw new TemplateException($"macro '{macro.Name}' got multiple values for argument '{key}'");
                scope.Set(key, value);
                bound[index] = true;
            }
            else if (key == "caller")
            {
                scope.Set("caller", value);
                hasCaller = true;
            }
            else if (macro.Uses.HasFlag(MacroUses.KwArgs)) kwargs.Set(key, value);
            else throw new TemplateException($"macro '{macro.Name}' takes no keyword argument '{key}'");
        }
        for (int i = 0; i < parameters.Count; i++)
        {
            if (bound[i]) continue;
            // Defaults are evaluated in the macro's scope, so they can use the parameters before them.
            scope.Set(parameters[i].Name, parameters[i].Default is { } fallback
                ? Evaluate(fallback, scope)
                : Undefined.WithHint($"parameter '{parameters[i].Name}' was not provided"));
        }
        if (macro.Uses.HasFlag(MacroUses.VarArgs)) scope.Set("varargs", new PyTuple([.. args.Positional.Skip(parameters.Count)]));
        if (macro.Uses.HasFlag(MacroUses.KwArgs)) scope.Set("kwargs", kwargs);
        if (macro.Uses.HasFlag(MacroUses.Caller) && !hasCaller) scope.Set("caller", Undefined.WithHint("No caller defined"));
        return scope;
    }
}
