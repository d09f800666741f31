namespace SharpInfer.Templates;

internal sealed partial class TemplateParser
{
    private Expr ParseFiltersAndTests(Expr node)
    {
        while (true)
        {
            var token = Current;
            if (token.IsOperator("|"))
            {
                Next();
                node = ParseFilter(node, token);
            }
            else if (token.IsName("is"))
            {
                node = ParseTest(node);
            }
            else if (token.IsOperator("("))
            {
                node = new CallExpr(token.Line, node, ParseCallArguments());
            }
            else
            {
                return node;
            }
        }
    }

    /// <summary>The filters of a filter block or block set: <c>name(args) | name ...</c>.</summary>
    private List<FilterExpr> ParseFilterChain(bool requireFirst)
    {
        var filters = new List<FilterExpr>();
        if (!requireFirst && !SkipOperator("|")) return filters;
        while (true)
        {
            var expr = ParseFilter(null, Current);
            if (expr is MissingExpr missing) throw new TemplateException(missing.Message, missing.Line);
            filters.Add((FilterExpr)expr);
            if (!SkipOperator("|")) return filters;
        }
    }

    private string ParseDottedName()
    {
        string name = ExpectName().Text;
        while (Current.IsOperator(".") && Peek().Kind == TokenKind.Name)
        {
            Next();
            name += "." + Next().Text;
        }
        return name;
    }

    private Expr ParseFilter(Expr? node, Token at)
    {
        var nameToken = Current;
        string name = ParseDottedName();
        var arguments = Current.IsOperator("(") ? ParseCallArguments() : Arguments.Empty;
        if (!Filters.Exists(name)) return Missing(Filters.UnknownMessage(name), nameToken);
        return new FilterExpr(at.Line, node, name, arguments);
    }

    private Expr ParseTest(Expr node)
    {
        var isToken = Next();
        bool negated = SkipName("not");
        var nameToken = Current;
        string name = ParseDottedName();
        Arguments arguments = Arguments.Empty;
        var t = Current;
        if (t.IsOperator("("))
        {
            arguments = ParseCallArguments();
        }
        else if (StartsBareTestArgument(t))
        {
            if (t.IsName("is")) throw Error("tests cannot be chained with 'is'", t);
            var argument = ParsePostfix(ParsePrimary());
            arguments = new Arguments([argument], [], null, null);
        }
        Expr test = Tests.Exists(name) ? new TestExpr(isToken.Line, node, name, arguments) : Missing(Tests.UnknownMessage(name), nameToken);
        return negated ? new NotExpr(isToken.Line, test) : test;
    }

    /// <summary>A test argument may follow without parentheses (<c>is divisibleby 3</c>), unless the next word is an operator keyword.</summary>
    private static bool StartsBareTestArgument(Token t)
    {
        if (t.Kind is TokenKind.String or TokenKind.Integer or TokenKind.Float) return true;
        if (t.Kind == TokenKind.Operator) return t.Text is "[" or "{";
        return t.Kind == TokenKind.Name && t.Text is not ("else" or "or" or "and");
    }

    /// <summary>
    /// An unknown filter or test. Jinja2 reports those when compiling, except inside conditionals (if statements and
    /// inline ifs), where only evaluating them fails; so outside them the error waits in <see cref="_missing"/> until
    /// the parse ends (an inline if found later still makes it conditional), and inside them it becomes a node that
    /// raises when evaluated.
    /// </summary>
    private Expr Missing(string message, Token at)
    {
        var missing = new MissingExpr(at.Line, message);
        if (_conditional == 0) _missing.Add(missing);
        return missing;
    }
}
