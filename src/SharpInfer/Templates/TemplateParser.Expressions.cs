namespace SharpInfer.Templates;

// Jinja2's precedence, loosest first: inline if, or, and, not, comparisons (also in / not in), + -, ~, * / // %,
// **, unary - +, then primaries with postfix . [] () and finally | filters and "is" tests.
internal sealed partial class TemplateParser
{
    /// <summary>An expression, or a tuple when commas separate several (<c>{{ a, b }}</c>, <c>for x in a, b</c>).</summary>
    private Expr ParseTuple(bool withConditional = true, string[]? extraEnds = null, bool explicitParentheses = false)
    {
        var start = Current;
        var items = new List<Expr>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) ExpectOperator(",");
            if (IsTupleEnd(extraEnds ?? [])) break;
            items.Add(ParseExpression(withConditional));
            if (Current.IsOperator(",")) isTuple = true;
            else break;
        }
        if (isTuple) return new TupleExpr(start.Line, items);
        if (items.Count > 0) return items[0];
        if (explicitParentheses) return new TupleExpr(start.Line, items);
        throw Error($"expected an expression, got {Current.Describe()}", Current);
    }

    private bool IsTupleEnd(string[] extraEnds)
    {
        var t = Current;
        if (t.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd or TokenKind.End || t.IsOperator(")")) return true;
        return t.Kind == TokenKind.Name && extraEnds.Contains(t.Text);
    }

    private Expr ParseExpression(bool withConditional = true)
    {
        using var nest = Nest(Current);
        return withConditional ? ParseConditional() : ParseOr();
    }

    private Expr ParseConditional()
    {
        int missingBefore = _missing.Count;
        var expr = ParseOr();
        while (Current.IsName("if"))
        {
            // What the expression before "if" used is conditional too.
            _missing.RemoveRange(missingBefore, _missing.Count - missingBefore);
            var token = Next();
            _conditional++;
            try
            {
                var test = ParseOr();
                Expr? otherwise = SkipName("else") ? ParseConditional() : null;
                expr = new ConditionalExpr(token.Line, test, expr, otherwise);
            }
            finally
            {
                _conditional--;
            }
        }
        return expr;
    }

    private Expr ParseOr()
    {
        var left = ParseAnd();
        while (Current.IsName("or"))
        {
            var token = Next();
            left = new OrExpr(token.Line, left, ParseAnd());
        }
        return left;
    }

    private Expr ParseAnd()
    {
        var left = ParseNot();
        while (Current.IsName("and"))
        {
            var token = Next();
            left = new AndExpr(token.Line, left, ParseNot());
        }
        return left;
    }

    private Expr ParseNot()
    {
        if (Current.IsName("not"))
        {
            var token = Next();
            using var nest = Nest(token);
            return new NotExpr(token.Line, ParseNot());
        }
        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        var first = ParseAdditive();
        var rest = new List<(CompareOp, Expr)>();
        while (true)
        {
            var t = Current;
            CompareOp? op = t.Kind == TokenKind.Operator ? t.Text switch
            {
                "==" => CompareOp.Equal,
                "!=" => CompareOp.NotEqual,
                "<" => CompareOp.Less,
                "<=" => CompareOp.LessOrEqual,
                ">" => CompareOp.Greater,
                ">=" => CompareOp.GreaterOrEqual,
                _ => null,
            } : null;
            if (op is null && t.IsName("in")) op = CompareOp.In;
            else if (op is null && t.IsName("not") && Peek().IsName("in"))
            {
                Next();
                op = CompareOp.NotIn;
            }
            if (op is null) break;
            Next();
            rest.Add((op.Value, ParseAdditive()));
        }
        return rest.Count == 0 ? first : new CompareExpr(first.Line, first, rest);
    }

    private Expr ParseAdditive()
    {
        var left = ParseConcat();
        while (Current.IsOperator("+") || Current.IsOperator("-"))
        {
            var token = Next();
            left = new BinaryExpr(token.Line, token.Text == "+" ? BinaryOp.Add : BinaryOp.Subtract, left, ParseConcat());
        }
        return left;
    }

    private Expr ParseConcat()
    {
        var first = ParseMultiplicative();
        if (!Current.IsOperator("~")) return first;
        var parts = new List<Expr> { first };
        while (SkipOperator("~")) parts.Add(ParseMultiplicative());
        return new ConcatExpr(first.Line, parts);
    }

    private Expr ParseMultiplicative()
    {
        var left = ParsePower();
        while (Current.Kind == TokenKind.Operator && Current.Text is "*" or "/" or "//" or "%")
        {
            var token = Next();
            var op = token.Text switch { "*" => BinaryOp.Multiply, "/" => BinaryOp.Divide, "//" => BinaryOp.FloorDivide, _ => BinaryOp.Modulo };
            left = new BinaryExpr(token.Line, op, left, ParsePower());
        }
        return left;
    }

    private Expr ParsePower()
    {
        var left = ParseUnary();
        while (Current.IsOperator("**"))
        {
            var token = Next();
            left = new BinaryExpr(token.Line, BinaryOp.Power, left, ParseUnary());
        }
        return left;
    }

    private Expr ParseUnary(bool withFilters = true)
    {
        var token = Current;
        Expr node;
        if (token.IsOperator("-") || token.IsOperator("+"))
        {
            Next();
            using var nest = Nest(token);
            node = new UnaryExpr(token.Line, token.Text == "-", ParseUnary(withFilters: false));
        }
        else
        {
            node = ParsePrimary();
        }
        node = ParsePostfix(node);
        return withFilters ? ParseFiltersAndTests(node) : node;
    }

    private Expr ParsePrimary()
    {
        var token = Current;
        switch (token.Kind)
        {
            case TokenKind.Name:
                Next();
                switch (token.Text)
                {
                    case "true" or "True": return new ConstExpr(token.Line, true);
                    case "false" or "False": return new ConstExpr(token.Line, false);
                    case "none" or "None": return new ConstExpr(token.Line, null);
                }
                _macroNames?.Add(token.Text);
                return new NameExpr(token.Line, token.Text);
            case TokenKind.String:
                Next();
                string text = (string)token.Value!;
                while (Current.Kind == TokenKind.String) text += (string)Next().Value!;
                return new ConstExpr(token.Line, text);
            case TokenKind.Integer or TokenKind.Float:
                Next();
                return new ConstExpr(token.Line, token.Value);
            case TokenKind.Operator when token.Text == "(":
            {
                Next();
                using var nest = Nest(token);
                var inner = ParseTuple(explicitParentheses: true);
                ExpectOperator(")");
                return inner;
            }
            case TokenKind.Operator when token.Text == "[":
                return ParseList();
            case TokenKind.Operator when token.Text == "{":
                return ParseDict();
        }
        throw Error($"unexpected {token.Describe()}", token);
    }

    private Expr ParseList()
    {
        var open = Next();
        using var nest = Nest(open);
        var items = new List<Expr>();
        while (!Current.IsOperator("]"))
        {
            if (items.Count > 0) ExpectOperator(",");
            if (Current.IsOperator("]")) break;
            items.Add(ParseExpression());
        }
        Next();
        return new ListExpr(open.Line, items);
    }

    private Expr ParseDict()
    {
        var open = Next();
        using var nest = Nest(open);
        var items = new List<(Expr, Expr)>();
        while (!Current.IsOperator("}"))
        {
            if (items.Count > 0) ExpectOperator(",");
            if (Current.IsOperator("}")) break;
            var key = ParseExpression();
            ExpectOperator(":");
            items.Add((key, ParseExpression()));
        }
        Next();
        return new DictExpr(open.Line, items);
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            var token = Current;
            if (token.IsOperator("."))
            {
                Next();
                var attr = Next();
                node = attr.Kind switch
                {
                    TokenKind.Name => new AttributeExpr(token.Line, node, attr.Text),
                    TokenKind.Integer => new ItemExpr(token.Line, node, new ConstExpr(attr.Line, attr.Value)),
                    _ => throw Error($"expected an attribute name after '.', got {attr.Describe()}", attr),
                };
            }
            else if (token.IsOperator("["))
            {
                node = ParseSubscript(node);
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

    private Expr ParseSubscript(Expr node)
    {
        var open = Next();
        using var nest = Nest(open);
        var keys = new List<Expr>();
        while (!Current.IsOperator("]"))
        {
            if (keys.Count > 0) ExpectOperator(",");
            keys.Add(ParseSubscribed());
        }
        Next();
        if (keys.Count == 0) throw Error("expected a subscript inside '[]'", open);
        var key = keys.Count == 1 ? keys[0] : new TupleExpr(open.Line, keys);
        return new ItemExpr(open.Line, node, key);
    }

    /// <summary>One subscript: an expression or a slice <c>start:stop:step</c> with any part left out.</summary>
    private Expr ParseSubscribed()
    {
        var token = Current;
        Expr? start = null;
        if (!token.IsOperator(":"))
        {
            start = ParseExpression();
            if (!Current.IsOperator(":")) return start;
        }
        Next();
        Expr? stop = Current.IsOperator(":") || Current.IsOperator("]") || Current.IsOperator(",") ? null : ParseExpression();
        Expr? step = null;
        if (SkipOperator(":") && !Current.IsOperator("]") && !Current.IsOperator(",")) step = ParseExpression();
        return new SliceExpr(token.Line, start, stop, step);
    }

    private Arguments ParseCallArguments()
    {
        var open = Current;
        ExpectOperator("(");
        using var nest = Nest(open);
        var positional = new List<Expr>();
        var keywords = new List<(string, Expr)>();
        Expr? star = null, doubleStar = null;
        bool needComma = false;
        while (!Current.IsOperator(")"))
        {
            if (needComma)
            {
                ExpectOperator(",");
                if (Current.IsOperator(")")) break;
            }
            if (SkipOperator("*"))
            {
                if (star is not null || doubleStar is not null) throw Error("invalid syntax for function call expression", open);
                star = ParseExpression();
            }
            else if (SkipOperator("**"))
            {
                if (doubleStar is not null) throw Error("invalid syntax for function call expression", open);
                doubleStar = ParseExpression();
            }
            else if (Current.Kind == TokenKind.Name && Peek().IsOperator("="))
            {
                if (star is not null || doubleStar is not null) throw Error("invalid syntax for function call expression", open);
                string name = Next().Text;
                Next();
                keywords.Add((name, ParseExpression()));
            }
            else
            {
                if (star is not null || doubleStar is not null || keywords.Count > 0) throw Error("positional argument follows keyword argument", Current);
                positional.Add(ParseExpression());
            }
            needComma = true;
        }
        Next();
        return new Arguments(positional, keywords, star, doubleStar);
    }
}
