namespace SharpInfer.Tokenization;

internal sealed partial class CodepointRegex
{
    /// <summary>Turns parsed nodes into instructions.</summary>
    private sealed class Compiler(string pattern)
    {
        private const int MaxInstructions = 20_000;

        public readonly List<Instruction> Program = new();
        public readonly List<CodepointClass> Classes = new();

        public int Add(Instruction instruction)
        {
            if (Program.Count >= MaxInstructions) throw new ArgumentException($"unsupported pre-tokenizer pattern (too large once compiled): {pattern}");
            Program.Add(instruction);
            return Program.Count - 1;
        }

        private void Patch(int at, Instruction instruction) => Program[at] = instruction;

        public void Emit(RegexNode node)
        {
            switch (node)
            {
                case SetNode s:
                    Classes.Add(s.Class);
                    Add(new Instruction(Op.Set, Classes.Count - 1));
                    break;
                case SequenceNode seq:
                    foreach (var item in seq.Items) Emit(item);
                    break;
                case AlternationNode alt:
                    EmitAlternation(alt.Options);
                    break;
                case RepeatNode r:
                    EmitRepeat(r);
                    break;
                case LookaheadNode look:
                {
                    int at = Add(new Instruction(Op.Lookahead));
                    Emit(look.Inner);
                    Add(new Instruction(Op.LookaheadEnd));
                    Patch(at, new Instruction(Op.Lookahead, look.Negative ? 1 : 0, Program.Count));
                    break;
                }
                case AnchorNode a:
                    Add(new Instruction(a.AtEnd ? Op.AssertEnd : Op.AssertStart));
                    break;
                case WordBoundaryNode w:
                    Add(new Instruction(w.Negated ? Op.NotWordBoundary : Op.WordBoundary));
                    break;
            }
        }

        private void EmitAlternation(RegexNode[] options)
        {
            var jumps = new List<int>();
            for (int i = 0; i < options.Length - 1; i++)
            {
                int split = Add(new Instruction(Op.Split));
                Emit(options[i]);
                jumps.Add(Add(new Instruction(Op.Jump)));
                Patch(split, new Instruction(Op.Split, split + 1, Program.Count));
            }
            Emit(options[^1]);
            foreach (int j in jumps) Patch(j, new Instruction(Op.Jump, Program.Count));
        }

        private void EmitRepeat(RepeatNode r)
        {
            if (r.Inner is SetNode s)
            {
                Classes.Add(s.Class);
                Add(new Instruction(Op.SetRepeat, Classes.Count - 1, r.Min, r.Max));
                return;
            }
            if (r.Max == int.MaxValue && FirstSet(r.Inner).Nullable)
            {
                // ECMAScript stops a loop whose body matched empty; none of the pre-tokenizer patterns needs that.
                throw new ArgumentException($"unsupported pre-tokenizer pattern (unbounded repeat of a group that can match empty): {pattern}");
            }
            for (int k = 0; k < r.Min; k++) Emit(r.Inner);
            if (r.Max == int.MaxValue)
            {
                int loop = Add(new Instruction(Op.Split));
                Emit(r.Inner);
                Add(new Instruction(Op.Jump, loop));
                Patch(loop, new Instruction(Op.Split, loop + 1, Program.Count));
                return;
            }
            var splits = new List<int>();
            for (int k = r.Min; k < r.Max; k++)
            {
                splits.Add(Add(new Instruction(Op.Split)));
                Emit(r.Inner);
            }
            foreach (int split in splits) Patch(split, new Instruction(Op.Split, split + 1, Program.Count));
        }
    }

    /// <summary>Matching of one pattern over one prepared input; the backtracking stack is the caller's.</summary>
    private readonly struct Run(CodepointRegex regex, int[] input, int start, int end, BacktrackStack stack)
    {
        /// <summary>The end of the match that starts at <paramref name="at"/>, or -1.</summary>
        public int MatchAt(int at, bool requireNonEmpty) => Execute(0, at, requireNonEmpty);

        private int Execute(int pc, int pos, bool requireNonEmpty)
        {
            var program = regex._program;
            var classes = regex._classes;
            int origin = pos, stackBase = stack.Count;
            while (true)
            {
                var ins = program[pc];
                switch (ins.Op)
                {
                    case Op.Set:
                        if (pos < end && classes[ins.A].Contains(input[pos])) { pos++; pc++; continue; }
                        break;
                    case Op.SetRepeat:
                    {
                        var cls = classes[ins.A];
                        int limit = ins.C >= end - pos ? end : pos + ins.C;
                        int p = pos;
                        while (p < limit && cls.Contains(input[p])) p++;
                        if (p - pos < ins.B) break;
                        if (p > pos + ins.B) stack.PushRepeat(pc + 1, pos + ins.B, p);
                        pos = p;
                        pc++;
                        continue;
                    }
                    case Op.Split:
                        stack.Push(ins.B, pos);
                        pc = ins.A;
                        continue;
                    case Op.Jump:
                        pc = ins.A;
                        continue;
                    case Op.Match:
                    case Op.LookaheadEnd:
                        if (ins.Op == Op.Match && requireNonEmpty && pos == origin) break;
                        stack.Count = stackBase;
                        return pos;
                    case Op.Lookahead:
                        // The inner match is atomic: its choice points are dropped once it has decided.
                        if ((Execute(pc + 1, pos, requireNonEmpty: false) >= 0) != (ins.A != 0)) { pc = ins.B; continue; }
                        break;
                    case Op.AssertStart:
                        if (pos == start) { pc++; continue; }
                        break;
                    case Op.AssertEnd:
                        if (pos == end) { pc++; continue; }
                        break;
                    case Op.WordBoundary:
                    case Op.NotWordBoundary:
                        if (IsBoundary(pos) == (ins.Op == Op.WordBoundary)) { pc++; continue; }
                        break;
                }
                if (!stack.Pop(stackBase, out pc, out pos)) return -1;
            }
        }

        private bool IsBoundary(int pos) => (pos > start && IsWord(input[pos - 1])) != (pos < end && IsWord(input[pos]));

        private static bool IsWord(int cp) => cp is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_';
    }
}

/// <summary>
/// Choice points of a backtracking match: (next instruction, position), or for a repeated class the range it
/// may still give back. Reused across matches so that matching allocates nothing once it has grown.
/// </summary>
internal sealed class BacktrackStack
{
    private int[] _pc = new int[64], _pos = new int[64], _min = new int[64];

    /// <summary>Entries in use.</summary>
    public int Count;

    public void Push(int pc, int pos) => PushEntry(pc, pos, -1);

    /// <summary>A greedy run that ended at <paramref name="pos"/> and may shrink down to <paramref name="minPos"/>.</summary>
    public void PushRepeat(int pc, int minPos, int pos) => PushEntry(pc, pos, minPos);

    private void PushEntry(int pc, int pos, int min)
    {
        if (Count == _pc.Length)
        {
            Array.Resize(ref _pc, Count * 2);
            Array.Resize(ref _pos, Count * 2);
            Array.Resize(ref _min, Count * 2);
        }
        _pc[Count] = pc;
        _pos[Count] = pos;
        _min[Count] = min;
        Count++;
    }

    /// <summary>Takes the latest choice point above <paramref name="floor"/>; false when there is none.</summary>
    public bool Pop(int floor, out int pc, out int pos)
    {
        if (Count == floor)
        {
            pc = pos = 0;
            return false;
        }
        int top = Count - 1;
        pc = _pc[top];
        if (_min[top] < 0)
        {
            pos = _pos[top];
            Count = top;
            return true;
        }
        // A repeated class gives back one code point; the entry stays while it can give back more.
        pos = --_pos[top];
        if (pos == _min[top]) Count = top;
        return true;
    }
}
