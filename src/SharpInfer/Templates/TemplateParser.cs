using System.Runtime.CompilerServices;

namespace SharpInfer.Templates;

/// <summary>
/// Recursive-descent parser from tokens to the syntax tree, following Jinja2's grammar and operator precedence.
/// Nesting is bounded so a hostile template cannot overflow the stack.
/// </summary>
internal sealed partial class TemplateParser
{
    private const int MaxNesting = 200;
    private readonly List<Token> _tokens;
    private int _index;
    private int _nesting;
    // Inside an if statement or inline if: unknown filters and tests become errors only when evaluated (as in Jinja2).
    private int _conditional;
    private int _loops;
    // Unknown filters and tests met outside conditionals: errors once the whole template has parsed.
    private readonly List<MissingExpr> _missing = [];
    // Names a macro body reads, to know whether it accepts varargs/kwargs/caller.
    private HashSet<string>? _macroNames;

    private TemplateParser(List<Token> tokens) => _tokens = tokens;

    /// <summary>Parses a whole template.</summary>
    public static IReadOnlyList<Node> Parse(string source)
    {
        var parser = new TemplateParser(TemplateLexer.Tokenize(source));
        var body = parser.ParseBody([], out _);
        if (parser._missing.Count > 0) throw new TemplateException(parser._missing[0].Message, parser._missing[0].Line);
        return body;
    }

    private Token Current => _tokens[_index];

    private Token Peek(int ahead = 1) => _tokens[Math.Min(_index + ahead, _tokens.Count - 1)];

    private Token Next() => _tokens[_index < _tokens.Count - 1 ? _index++ : _index];

    private static TemplateException Error(string message, Token at) => new(message, at.Line);

    private Token ExpectName()
    {
        if (Current.Kind != TokenKind.Name) throw Error($"expected a name, got {Current.Describe()}", Current);
        return Next();
    }

    private void ExpectOperator(string op)
    {
        if (!Current.IsOperator(op)) throw Error($"expected '{op}', got {Current.Describe()}", Current);
        Next();
    }

    private void ExpectBlockEnd()
    {
        if (Current.Kind != TokenKind.BlockEnd) throw Error($"expected end of statement block, got {Current.Describe()}", Current);
        Next();
    }

    private bool SkipName(string name)
    {
        if (!Current.IsName(name)) return false;
        Next();
        return true;
    }

    private bool SkipOperator(string op)
    {
        if (!Current.IsOperator(op)) return false;
        Next();
        return true;
    }

    /// <summary>Guards recursion: a nesting limit with a clear message, and the real stack as a backstop.</summary>
    private NestingScope Nest(Token at)
    {
        if (++_nesting > MaxNesting)
        {
            throw Error($"the template nests statements or expressions more than {MaxNesting} levels deep", at);
        }
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw Error("the template nests too deeply", at);
        return new NestingScope(this);
    }

    private readonly struct NestingScope(TemplateParser parser) : IDisposable
    {
        public void Dispose() => parser._nesting--;
    }

    /// <summary>
    /// Parses nodes until a block tag named in <paramref name="endTags"/> (left unconsumed, the cursor on its name)
    /// or the end of the template (only allowed when <paramref name="endTags"/> is empty).
    /// </summary>
    private List<Node> ParseBody(string[] endTags, out string endTag, Token? opener = null)
    {
        var nodes = new List<Node>();
        while (true)
        {
            var token = Current;
            switch (token.Kind)
            {
                case TokenKind.Data:
                    nodes.Add(new TextNode(token.Line, token.Text));
                    Next();
                    break;
                case TokenKind.VariableBegin:
                    Next();
                    nodes.Add(new OutputNode(token.Line, ParseTuple()));
                    if (Current.Kind != TokenKind.VariableEnd) throw Error($"expected end of print statement, got {Current.Describe()}", Current);
                    Next();
                    break;
                case TokenKind.BlockBegin:
                    Next();
                    if (Current.Kind == TokenKind.Name && endTags.Contains(Current.Text))
                    {
                        endTag = Current.Text;
                        return nodes;
                    }
                    if (ParseStatement(endTags, opener) is { } node) nodes.Add(node);
                    break;
                case TokenKind.End:
                    if (endTags.Length == 0)
                    {
                        endTag = "";
                        return nodes;
                    }
                    throw Error($"unexpected end of template: the '{opener?.Text}' block opened on line {opener?.Line} is not closed (expected {Expected(endTags)})", token);
                default:
                    throw Error($"unexpected {token.Describe()}", token);
            }
        }
    }

    private static string Expected(string[] endTags) => string.Join(" or ", endTags.Select(t => $"'{t}'"));

    private static readonly HashSet<string> EndTagNames = ["endif", "endfor", "endmacro", "endcall", "endfilter", "endset", "endwith", "endraw", "elif", "else", "endgeneration", "endblock"];
    private static readonly HashSet<string> UnsupportedTags = ["include", "import", "from", "extends", "block", "autoescape", "trans", "pluralize", "endtrans"];

    /// <summary>Parses the statement whose tag name is the current token; null for statements that emit nothing in place.</summary>
    private Node? ParseStatement(string[] endTags, Token? opener)
    {
        var token = Current;
        if (token.Kind != TokenKind.Name) throw Error($"expected a statement name, got {token.Describe()}", token);
        using var nest = Nest(token);
        switch (token.Text)
        {
            case "if": return ParseIf();
            case "for": return ParseFor();
            case "set": return ParseSet();
            case "macro": return ParseMacro();
            case "call": return ParseCallBlock();
            case "filter": return ParseFilterBlock();
            case "with": return ParseWith();
            case "do": Next(); var value = ParseTuple(); ExpectBlockEnd(); return new DoNode(token.Line, value);
            case "generation": Next(); ExpectBlockEnd(); return ParseGeneration(token);
            case "break" or "continue": return ParseLoopControl(token);
        }
        if (UnsupportedTags.Contains(token.Text))
        {
            throw Error($"'{token.Text}' is not supported: a chat template must be self-contained (no blocks, includes, imports or i18n)", token);
        }
        if (EndTagNames.Contains(token.Text))
        {
            string context = endTags.Length > 0 ? $", expected {Expected(endTags)} to close the '{opener?.Text}' block opened on line {opener?.Line}" : "";
            throw Error($"unexpected '{token.Text}'{context}", token);
        }
        throw Error($"unknown tag '{token.Text}'", token);
    }

    private Node ParseLoopControl(Token token)
    {
        Next();
        ExpectBlockEnd();
        if (_loops == 0) throw Error($"'{token.Text}' outside of a loop", token);
        return token.Text == "break" ? new BreakNode(token.Line) : new ContinueNode(token.Line);
    }

    /// <summary>Hugging Face's <c>{% generation %}</c> block only marks assistant text for training masks: it renders its body.</summary>
    private Node ParseGeneration(Token token)
    {
        var body = ParseBody(["endgeneration"], out _, token);
        Next();
        ExpectBlockEnd();
        return new IfNode(token.Line, [(new ConstExpr(token.Line, true), body)], []);
    }

    private Node ParseIf()
    {
        var opener = Next();
        _conditional++;
        try
        {
            var branches = new List<(Expr, IReadOnlyList<Node>)>();
            var test = ParseTuple(withConditional: false);
            ExpectBlockEnd();
            while (true)
            {
                var body = ParseBody(["elif", "else", "endif"], out string end, opener);
                branches.Add((test, body));
                Next();
                if (end == "elif")
                {
                    test = ParseTuple(withConditional: false);
                    ExpectBlockEnd();
                    continue;
                }
                List<Node> elseBody = [];
                if (end == "else")
                {
                    ExpectBlockEnd();
                    elseBody = ParseBody(["endif"], out _, opener);
                    Next();
                }
                ExpectBlockEnd();
                return new IfNode(opener.Line, branches, elseBody);
            }
        }
        finally
        {
            _conditional--;
        }
    }

    private Node ParseFor()
    {
        var opener = Next();
        var target = ParseAssignTarget(["in"]);
        if (!SkipName("in")) throw Error($"expected 'in' in the for loop, got {Current.Describe()}", Current);
        var iterable = ParseTuple(withConditional: false, extraEnds: ["recursive"]);
        Expr? filter = null;
        if (SkipName("if")) filter = ParseExpression();
        bool recursive = SkipName("recursive");
        ExpectBlockEnd();
        _loops++;
        var body = ParseBody(["endfor", "else"], out string end, opener);
        _loops--;
        Next();
        List<Node> elseBody = [];
        if (end == "else")
        {
            ExpectBlockEnd();
            elseBody = ParseBody(["endfor"], out _, opener);
            Next();
        }
        ExpectBlockEnd();
        return new ForNode(opener.Line, target, iterable, filter, body, elseBody, recursive);
    }

    private Node ParseSet()
    {
        var opener = Next();
        var target = ParseAssignTarget([], withNamespace: true);
        if (SkipOperator("="))
        {
            var value = ParseTuple();
            ExpectBlockEnd();
            return new SetNode(opener.Line, target, value);
        }
        if (target is TupleTarget) throw Error("a block assignment ({% set x %}...{% endset %}) needs a single name", opener);
        var filters = ParseFilterChain(requireFirst: false);
        ExpectBlockEnd();
        var body = ParseBody(["endset"], out _, opener);
        Next();
        ExpectBlockEnd();
        return new SetBlockNode(opener.Line, target, filters, body);
    }

    private Node ParseFilterBlock()
    {
        var opener = Next();
        var filters = ParseFilterChain(requireFirst: true);
        ExpectBlockEnd();
        var body = ParseBody(["endfilter"], out _, opener);
        Next();
        ExpectBlockEnd();
        return new FilterBlockNode(opener.Line, filters, body);
    }

    private Node ParseWith()
    {
        var opener = Next();
        var assignments = new List<(Target, Expr)>();
        while (Current.Kind != TokenKind.BlockEnd)
        {
            if (assignments.Count > 0) ExpectOperator(",");
            var target = ParseAssignTarget([]);
            ExpectOperator("=");
            assignments.Add((target, ParseExpression()));
        }
        Next();
        var body = ParseBody(["endwith"], out _, opener);
        Next();
        ExpectBlockEnd();
        return new WithNode(opener.Line, assignments, body);
    }

    /// <summary>An assignment target: a name, <c>ns.attr</c> (when allowed) or a tuple of names.</summary>
    private Target ParseAssignTarget(string[] extraEnds, bool withNamespace = false)
    {
        var token = Current;
        if (withNamespace && token.Kind == TokenKind.Name && Peek().IsOperator("."))
        {
            Next();
            Next();
            return new NamespaceTarget(token.Line, token.Text, ExpectName().Text);
        }
        var items = new List<Target>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) ExpectOperator(",");
            if (IsTupleEnd(extraEnds) || Current.IsOperator("=")) break;
            items.Add(ParseSimpleTarget());
            if (Current.IsOperator(",")) isTuple = true;
            else break;
        }
        if (items.Count == 0) throw Error($"expected an assignment target, got {Current.Describe()}", Current);
        return isTuple ? new TupleTarget(token.Line, items) : items[0];
    }

    private Target ParseSimpleTarget()
    {
        var token = Current;
        if (token.IsOperator("("))
        {
            Next();
            var inner = ParseAssignTarget([]);
            ExpectOperator(")");
            return inner;
        }
        if (token.Kind != TokenKind.Name || token.Text is "true" or "false" or "none" or "True" or "False" or "None")
        {
            throw Error($"cannot assign to {token.Describe()}", token);
        }
        Next();
        return new NameTarget(token.Line, token.Text);
    }
}
