using System.Runtime.CompilerServices;

namespace SharpInfer.Templates;

/// <summary>
/// Walks the syntax tree and writes the output. Every statement, loop iteration and call counts against
/// <see cref="TemplateLimits.MaxSteps"/>; macro calls and recursive loops against <see cref="TemplateLimits.MaxCallDepth"/>.
/// </summary>
internal sealed partial class Interpreter(TemplateLimits limits)
{
    private long _steps;
    private int _callDepth;

    public TemplateLimits Limits { get; } = limits;

    private enum Flow { Normal, Break, Continue }

    public string Render(IReadOnlyList<Node> body, Scope scope)
    {
        var output = new TemplateOutput(Limits.MaxOutputChars);
        Execute(body, scope, output);
        return output.ToString();
    }

    public void Step()
    {
        if (++_steps > Limits.MaxSteps) throw new TemplateException($"the template ran more than {Limits.MaxSteps} steps (an endless loop?)");
    }

    public void CheckItems(long count)
    {
        if (count > Limits.MaxItems) throw Templates.Limits.TooManyItems(Limits.MaxItems);
    }

    private static void EnsureStack()
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw new TemplateException("the template nests too deeply");
    }

    private Flow Execute(IReadOnlyList<Node> nodes, Scope scope, TemplateOutput output)
    {
        EnsureStack();
        foreach (var node in nodes)
        {
            Step();
            Flow flow;
            try
            {
                flow = ExecuteNode(node, scope, output);
            }
            catch (TemplateException e) when (e.Line == 0)
            {
                throw e.AtLine(node.Line);
            }
            if (flow != Flow.Normal) return flow;
        }
        return Flow.Normal;
    }

    private Flow ExecuteNode(Node node, Scope scope, TemplateOutput output)
    {
        switch (node)
        {
            case TextNode text:
                output.Write(text.Text);
                return Flow.Normal;
            case OutputNode print:
                output.Write(PyFormat.Str(Evaluate(print.Value, scope)));
                return Flow.Normal;
            case IfNode branch:
                foreach (var (test, body) in branch.Branches)
                {
                    if (PyOps.IsTrue(Evaluate(test, scope))) return Execute(body, scope, output);
                }
                return Execute(branch.Else, scope, output);
            case ForNode loop:
                return RunLoop(loop, Evaluate(loop.Iterable, scope), scope, output, depth: 1);
            case SetNode set:
                Assign(set.Target, Evaluate(set.Value, scope), scope);
                return Flow.Normal;
            case SetBlockNode block:
                Assign(block.Target, ApplyFilters(block.Filters, RenderBody(block.Body, scope), scope), scope);
                return Flow.Normal;
            case MacroNode macro:
                scope.Set(macro.Name, new Macro(macro.Name, macro.Parameters, macro.Body, macro.Uses, scope));
                return Flow.Normal;
            case CallBlockNode call:
                output.Write(PyFormat.Str(CallWithCaller(call, scope)));
                return Flow.Normal;
            case FilterBlockNode filter:
                output.Write(PyFormat.Str(ApplyFilters(filter.Filters, RenderBody(filter.Body, scope), scope)));
                return Flow.Normal;
            case WithNode with:
                var inner = new Scope(scope);
                var values = with.Assignments.Select(a => Evaluate(a.Value, scope)).ToList();
                for (int i = 0; i < values.Count; i++) Assign(with.Assignments[i].Target, values[i], inner);
                return Execute(with.Body, inner, output);
            case BreakNode:
                return Flow.Break;
            case ContinueNode:
                return Flow.Continue;
            case DoNode action:
                Evaluate(action.Value, scope);
                return Flow.Normal;
            default:
                throw new TemplateException($"internal error: unknown node {node.GetType().Name}");
        }
    }

    private string RenderBody(IReadOnlyList<Node> body, Scope scope)
    {
        var output = new TemplateOutput(Limits.MaxOutputChars);
        Execute(body, scope, output);
        return output.ToString();
    }

    private object? ApplyFilters(IReadOnlyList<FilterExpr> filters, object? value, Scope scope)
    {
        foreach (var filter in filters) value = Filters.Apply(this, filter.Name, value, EvaluateArguments(filter.Arguments, scope));
        return value;
    }

    /// <summary>
    /// Runs a for loop: each iteration gets its own scope with the target and <c>loop</c>; an inline <c>if</c>
    /// filters the items first (so <c>loop.length</c> counts only those); <c>else</c> runs when nothing iterated.
    /// </summary>
    private Flow RunLoop(ForNode loop, object? iterable, Scope scope, TemplateOutput output, int depth)
    {
        var items = PyOps.Iterate(iterable);
        if (loop.Filter is not null)
        {
            var kept = new List<object?>();
            foreach (var item in items)
            {
                Step();
                var filterScope = new Scope(scope);
                Assign(loop.Target, item, filterScope);
                if (PyOps.IsTrue(Evaluate(loop.Filter, filterScope))) kept.Add(item);
            }
            items = kept;
        }
        if (items.Count == 0) return Execute(loop.Else, scope, output);
        Func<object?, string>? recurse = loop.Recursive ? inner => RenderRecursion(loop, inner, scope, depth + 1) : null;
        var context = new LoopContext(items, depth, recurse);
        for (int i = 0; i < items.Count; i++)
        {
            Step();
            context.Index0 = i;
            var iterationScope = new Scope(scope);
            Assign(loop.Target, items[i], iterationScope);
            iterationScope.Set("loop", context);
            if (Execute(loop.Body, iterationScope, output) == Flow.Break) break;
        }
        return Flow.Normal;
    }

    private string RenderRecursion(ForNode loop, object? iterable, Scope scope, int depth)
    {
        EnterCall("loop()");
        try
        {
            var output = new TemplateOutput(Limits.MaxOutputChars);
            RunLoop(loop, iterable, scope, output, depth);
            return output.ToString();
        }
        finally
        {
            _callDepth--;
        }
    }

    private void EnterCall(string name)
    {
        if (++_callDepth > Limits.MaxCallDepth)
        {
            _callDepth--;
            throw new TemplateException($"{name} nested more than {Limits.MaxCallDepth} calls deep (endless recursion?)");
        }
    }

    private void Assign(Target target, object? value, Scope scope)
    {
        switch (target)
        {
            case NameTarget name:
                scope.Set(name.Name, value);
                break;
            case NamespaceTarget ns:
                if (!scope.TryGet(ns.Name, out var holder) || holder is not TemplateNamespace space)
                {
                    throw new TemplateException($"cannot assign attribute on non-namespace object '{ns.Name}'");
                }
                space.Attributes[ns.Attribute] = value;
                break;
            case TupleTarget tuple:
                var items = PyOps.Iterate(value);
                if (items.Count > tuple.Items.Count) throw new TemplateException($"too many values to unpack (expected {tuple.Items.Count})");
                if (items.Count < tuple.Items.Count) throw new TemplateException($"not enough values to unpack (expected {tuple.Items.Count}, got {items.Count})");
                for (int i = 0; i < items.Count; i++) Assign(tuple.Items[i], items[i], scope);
                break;
        }
    }
}
