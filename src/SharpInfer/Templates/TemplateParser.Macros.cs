namespace SharpInfer.Templates;

internal sealed partial class TemplateParser
{
    private Node ParseMacro()
    {
        var opener = Next();
        string name = ExpectName().Text;
        var parameters = ParseSignature(required: true);
        ExpectBlockEnd();
        var (body, uses) = ParseMacroBody(["endmacro"], opener);
        return new MacroNode(opener.Line, name, parameters, body, uses);
    }

    private Node ParseCallBlock()
    {
        var opener = Next();
        var parameters = Current.IsOperator("(") ? ParseSignature(required: false) : [];
        var call = ParseExpression();
        if (call is not CallExpr callExpr) throw Error("expected a macro call after 'call'", opener);
        ExpectBlockEnd();
        var (body, uses) = ParseMacroBody(["endcall"], opener);
        return new CallBlockNode(opener.Line, callExpr, parameters, body, uses);
    }

    /// <summary>Parses a macro (or caller) body with its own loop context, recording the special names it reads.</summary>
    private (List<Node> Body, MacroUses Uses) ParseMacroBody(string[] endTags, Token opener)
    {
        var outerNames = _macroNames;
        int outerLoops = _loops;
        _macroNames = [];
        _loops = 0;
        try
        {
            var body = ParseBody(endTags, out _, opener);
            Next();
            ExpectBlockEnd();
            var uses = MacroUses.None;
            if (_macroNames.Contains("varargs")) uses |= MacroUses.VarArgs;
            if (_macroNames.Contains("kwargs")) uses |= MacroUses.KwArgs;
            if (_macroNames.Contains("caller")) uses |= MacroUses.Caller;
            return (body, uses);
        }
        finally
        {
            outerNames?.UnionWith(_macroNames!);
            _macroNames = outerNames;
            _loops = outerLoops;
        }
    }

    /// <summary><c>(a, b=default, ...)</c>; parameters without defaults may not follow ones with defaults.</summary>
    private List<Parameter> ParseSignature(bool required)
    {
        var parameters = new List<Parameter>();
        if (!Current.IsOperator("("))
        {
            if (required) throw Error($"expected '(' after the macro name, got {Current.Describe()}", Current);
            return parameters;
        }
        Next();
        while (!Current.IsOperator(")"))
        {
            if (parameters.Count > 0) ExpectOperator(",");
            if (Current.IsOperator(")")) break;
            var name = ExpectName();
            Expr? defaultValue = null;
            if (SkipOperator("=")) defaultValue = ParseExpression();
            else if (parameters.Count > 0 && parameters[^1].Default is not null) throw Error("parameters without a default cannot follow parameters with one", name);
            parameters.Add(new Parameter(name.Text, defaultValue));
        }
        Next();
        return parameters;
    }
}
