namespace SharpInfer.Templates;

// The syntax tree the parser builds and the interpreter walks. Every node knows the template line it came from,
// so runtime errors can name it.

/// <summary>A statement (or a piece of literal text) of a template body.</summary>
internal abstract record Node(int Line);

internal sealed record TextNode(int Line, string Text) : Node(Line);

internal sealed record OutputNode(int Line, Expr Value) : Node(Line);

internal sealed record IfNode(int Line, IReadOnlyList<(Expr Test, IReadOnlyList<Node> Body)> Branches, IReadOnlyList<Node> Else) : Node(Line);

internal sealed record ForNode(int Line, Target Target, Expr Iterable, Expr? Filter, IReadOnlyList<Node> Body, IReadOnlyList<Node> Else, bool Recursive) : Node(Line);

internal sealed record SetNode(int Line, Target Target, Expr Value) : Node(Line);

internal sealed record SetBlockNode(int Line, Target Target, IReadOnlyList<FilterExpr> Filters, IReadOnlyList<Node> Body) : Node(Line);

internal sealed record MacroNode(int Line, string Name, IReadOnlyList<Parameter> Parameters, IReadOnlyList<Node> Body, MacroUses Uses) : Node(Line);

internal sealed record CallBlockNode(int Line, CallExpr Call, IReadOnlyList<Parameter> CallerParameters, IReadOnlyList<Node> Body, MacroUses Uses) : Node(Line);

internal sealed record FilterBlockNode(int Line, IReadOnlyList<FilterExpr> Filters, IReadOnlyList<Node> Body) : Node(Line);

internal sealed record WithNode(int Line, IReadOnlyList<(Target Target, Expr Value)> Assignments, IReadOnlyList<Node> Body) : Node(Line);

internal sealed record BreakNode(int Line) : Node(Line);

internal sealed record ContinueNode(int Line) : Node(Line);

internal sealed record DoNode(int Line, Expr Value) : Node(Line);

/// <summary>A macro parameter and its default (null: none).</summary>
internal sealed record Parameter(string Name, Expr? Default);

/// <summary>Which special names a macro body reads: extra arguments are only accepted when it does.</summary>
[Flags]
internal enum MacroUses { None = 0, VarArgs = 1, KwArgs = 2, Caller = 4 }

/// <summary>Where an assignment stores: a name, a namespace attribute or a tuple of targets.</summary>
internal abstract record Target(int Line);

internal sealed record NameTarget(int Line, string Name) : Target(Line);

internal sealed record NamespaceTarget(int Line, string Name, string Attribute) : Target(Line);

internal sealed record TupleTarget(int Line, IReadOnlyList<Target> Items) : Target(Line);

/// <summary>An expression.</summary>
internal abstract record Expr(int Line);

internal sealed record ConstExpr(int Line, object? Value) : Expr(Line);

internal sealed record NameExpr(int Line, string Name) : Expr(Line);

internal sealed record ListExpr(int Line, IReadOnlyList<Expr> Items) : Expr(Line);

internal sealed record TupleExpr(int Line, IReadOnlyList<Expr> Items) : Expr(Line);

internal sealed record DictExpr(int Line, IReadOnlyList<(Expr Key, Expr Value)> Items) : Expr(Line);

internal sealed record AttributeExpr(int Line, Expr Target, string Name) : Expr(Line);

internal sealed record ItemExpr(int Line, Expr Target, Expr Key) : Expr(Line);

internal sealed record SliceExpr(int Line, Expr? Start, Expr? Stop, Expr? Step) : Expr(Line);

/// <summary>Call arguments as written: positional, keyword, <c>*args</c> and <c>**kwargs</c>.</summary>
internal sealed record Arguments(IReadOnlyList<Expr> Positional, IReadOnlyList<(string Name, Expr Value)> Keywords, Expr? Star, Expr? DoubleStar)
{
    public static readonly Arguments Empty = new([], [], null, null);
}

internal sealed record CallExpr(int Line, Expr Callee, Arguments Arguments) : Expr(Line);

/// <summary><c>value | name(args)</c>; <see cref="Value"/> is null in filter blocks, where the body is the input.</summary>
internal sealed record FilterExpr(int Line, Expr? Value, string Name, Arguments Arguments) : Expr(Line);

internal sealed record TestExpr(int Line, Expr Value, string Name, Arguments Arguments) : Expr(Line);

/// <summary>
/// A filter or test the engine does not have, used inside a conditional: Jinja2 reports those only when the
/// branch actually runs, so a template whose unusual path is never taken still renders.
/// </summary>
internal sealed record MissingExpr(int Line, string Message) : Expr(Line);

internal enum BinaryOp { Add, Subtract, Multiply, Divide, FloorDivide, Modulo, Power }

internal sealed record BinaryExpr(int Line, BinaryOp Op, Expr Left, Expr Right) : Expr(Line);

internal sealed record UnaryExpr(int Line, bool Negate, Expr Operand) : Expr(Line);

internal sealed record NotExpr(int Line, Expr Operand) : Expr(Line);

internal sealed record AndExpr(int Line, Expr Left, Expr Right) : Expr(Line);

internal sealed record OrExpr(int Line, Expr Left, Expr Right) : Expr(Line);

internal enum CompareOp { Equal, NotEqual, Less, LessOrEqual, Greater, GreaterOrEqual, In, NotIn }

internal sealed record CompareExpr(int Line, Expr First, IReadOnlyList<(CompareOp Op, Expr Operand)> Rest) : Expr(Line);

internal sealed record ConcatExpr(int Line, IReadOnlyList<Expr> Parts) : Expr(Line);

internal sealed record ConditionalExpr(int Line, Expr Test, Expr Then, Expr? Else) : Expr(Line);
