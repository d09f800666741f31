namespace SharpInfer.Templates;

internal sealed partial class Interpreter
{
    public object? Evaluate(Expr expr, Scope scope)
    {
        EnsureStack();
        try
        {
            return EvaluateCore(expr, scope);
        }
        catch (TemplateException e) when (e.Line == 0)
        {
            throw e.AtLine(expr.Line);
        }
    }

    private object? EvaluateCore(Expr expr, Scope scope)
    {
        switch (expr)
        {
            case ConstExpr constant: return constant.Value;
            case NameExpr name: return scope.TryGet(name.Name, out var value) ? value : Undefined.Variable(name.Name);
            case ListExpr list:
                CheckItems(list.Items.Count);
                return list.Items.Select(item => Evaluate(item, scope)).ToList();
            case TupleExpr tuple: return new PyTuple([.. tuple.Items.Select(item => Evaluate(item, scope))]);
            case DictExpr dict:
                var result = new PyDict();
                foreach (var (key, item) in dict.Items) result.Set(Evaluate(key, scope), Evaluate(item, scope));
                return result;
            case AttributeExpr attribute: return PyAccess.GetAttribute(Evaluate(attribute.Target, scope), attribute.Name);
            case ItemExpr { Key: SliceExpr slice } item:
                return PyAccess.Slice(Evaluate(item.Target, scope), Optional(slice.Start, scope), Optional(slice.Stop, scope), Optional(slice.Step, scope));
            case ItemExpr item: return PyAccess.GetItem(Evaluate(item.Target, scope), Evaluate(item.Key, scope));
            case CallExpr call: return Call(Evaluate(call.Callee, scope), EvaluateArguments(call.Arguments, scope));
            case FilterExpr filter:
                var input = filter.Value is null ? null : Evaluate(filter.Value, scope);
                return Filters.Apply(this, filter.Name, input, EvaluateArguments(filter.Arguments, scope));
            case TestExpr test: return Tests.Apply(this, test.Name, Evaluate(test.Value, scope), EvaluateArguments(test.Arguments, scope));
            case MissingExpr missing: throw new TemplateException(missing.Message);
            case BinaryExpr binary: return PyOps.Binary(binary.Op, Evaluate(binary.Left, scope), Evaluate(binary.Right, scope), Limits);
            case UnaryExpr unary: return PyOps.Unary(unary.Negate, Evaluate(unary.Operand, scope));
            case NotExpr not: return !PyOps.IsTrue(Evaluate(not.Operand, scope));
            case AndExpr and:
                var left = Evaluate(and.Left, scope);
                return PyOps.IsTrue(left) ? Evaluate(and.Right, scope) : left;
            case OrExpr or:
                var first = Evaluate(or.Left, scope);
                return PyOps.IsTrue(first) ? first : Evaluate(or.Right, scope);
            case CompareExpr compare: return EvaluateComparison(compare, scope);
            case ConcatExpr concat: return PyOps.Concat(concat.Parts.Select(part => PyFormat.Str(Evaluate(part, scope))), Limits.MaxOutputChars);
            case ConditionalExpr conditional:
                if (PyOps.IsTrue(Evaluate(conditional.Test, scope))) return Evaluate(conditional.Then, scope);
                return conditional.Else is null
                    ? Undefined.WithHint($"the inline if-expression on line {conditional.Line} evaluated to false and no else section was defined.")
                    : Evaluate(conditional.Else, scope);
            case SliceExpr: throw new TemplateException("a slice is only allowed inside []");
            default: throw new TemplateException($"internal error: unknown expression {expr.GetType().Name}");
        }
    }

    private object? Optional(Expr? expr, Scope scope) => expr is null ? null : Evaluate(expr, scope);

    private bool EvaluateComparison(CompareExpr compare, Scope scope)
    {
        var left = Evaluate(compare.First, scope);
        foreach (var (op, operand) in compare.Rest)
        {
            var right = Evaluate(operand, scope);
            bool holds = op switch
            {
                CompareOp.Equal => PyOps.AreEqual(left, right),
                CompareOp.NotEqual => !PyOps.AreEqual(left, right),
                CompareOp.Less => PyOps.Compare(left, right, "<") < 0,
                CompareOp.LessOrEqual => PyOps.Compare(left, right, "<=") <= 0,
                CompareOp.Greater => PyOps.Compare(left, right, ">") > 0,
                CompareOp.GreaterOrEqual => PyOps.Compare(left, right, ">=") >= 0,
                CompareOp.In => PyOps.Contains(right, left),
                _ => !PyOps.Contains(right, left),
            };
            if (!holds) return false;
            left = right;
        }
        return true;
    }

    private CallArgs EvaluateArguments(Arguments arguments, Scope scope)
    {
        var positional = arguments.Positional.Select(a => Evaluate(a, scope)).ToList();
        if (arguments.Star is not null) positional.AddRange(PyOps.Iterate(Evaluate(arguments.Star, scope)));
        var keywords = arguments.Keywords.Select(k => new KeyValuePair<string, object?>(k.Name, Evaluate(k.Value, scope))).ToList();
        if (arguments.DoubleStar is not null)
        {
            if (Evaluate(arguments.DoubleStar, scope) is not PyDict extra) throw new TemplateException("argument after ** must be a mapping");
            foreach (var (key, value) in extra.Items)
            {
                keywords.Add(new(key as string ?? throw new TemplateException("keywords must be strings"), value));
            }
        }
        return new CallArgs(positional, keywords);
    }

    public object? Call(object? callee, CallArgs args)
    {
        Step();
        switch (callee)
        {
            case PyCallable function: return function.Call(this, args);
            case LoopContext loop:
                return loop.Recurse(args.Bind("loop()", ["iterable"], [CallArgs.Required.Value])[0]);
            case Undefined undefined: throw undefined.Error();
            default: throw new TemplateException($"'{PyOps.TypeName(callee)}' object is not callable");
        }
    }

    private object? CallWithCaller(CallBlockNode block, Scope scope)
    {
        var callee = Evaluate(block.Call.Callee, scope);
        var args = EvaluateArguments(block.Call.Arguments, scope);
        args.Keywords.Add(new("caller", new Macro("caller", block.CallerParameters, block.Body, block.Uses, scope)));
        return Call(callee, args);
    }
}
