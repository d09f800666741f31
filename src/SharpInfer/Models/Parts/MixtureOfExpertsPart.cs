using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Models.Parts;

/// <summary>
/// A mixture-of-experts block bound to its weights. The router scores every token (<see cref="ExpertRouter"/>); the
/// shared experts run on all tokens as one SwiGLU block; then the micro-batch's tokens are grouped by expert: each
/// chosen expert's rows of the normed input are gathered into one segment, so every expert's gate, up and down
/// matrices are read once per micro-batch and multiplied against all its tokens with the batched kernels (a decode
/// step reads only the chosen experts' matrices, all experts of a step in one dispatch); each token's outputs are
/// then summed in its routing order, weighted, onto the shared experts' output.
/// </summary>
internal sealed unsafe class MixtureOfExpertsPart : BlockPart
{
    private const int OpRoute = 0, OpSharedActivate = 1, OpGather = 2, OpExpertActivate = 3, OpCombine = 4;
    private readonly MixtureOfExpertsSpec _spec;
    private readonly int _layer, _embedding;
    private readonly MatrixView _router, _sharedGate, _sharedUp, _sharedDown;
    private readonly MatrixView[] _gate, _up, _down;
    private readonly float* _bias;
    private readonly long _expertBytes;

    public MixtureOfExpertsPart(MixtureOfExpertsSpec spec, WeightBinder w, int layer, int embedding)
    {
        // No family has one, so this part neither declares nor applies it: a description asking for it is refused, not ignored.
        if (spec.PostNorm) throw new NotSupportedException($"layer {layer}: a post-norm after a mixture of experts is not supported");
        _spec = spec;
        _layer = layer;
        _embedding = embedding;
        string p = $"blk.{layer}.";
        int e = spec.Experts, ff = spec.ExpertLength;
        _router = w.Matrix(p + "ffn_gate_inp.weight", embedding, e);
        _bias = w.OptionalVector(p + "exp_probs_b.bias", e);
        _gate = w.Stacked(p + "ffn_gate_exps.weight", embedding, ff, e);
        _up = w.Stacked(p + "ffn_up_exps.weight", embedding, ff, e);
        _down = w.Stacked(p + "ffn_down_exps.weight", ff, embedding, e);
        _expertBytes = _gate[0].RowBytes * ff + _up[0].RowBytes * ff + _down[0].RowBytes * embedding;
        if (spec.SharedExperts > 0)
        {
            _sharedGate = w.Matrix(p + "ffn_gate_shexp.weight", embedding, spec.SharedLength);
            _sharedUp = w.Matrix(p + "ffn_up_shexp.weight", embedding, spec.SharedLength);
            _sharedDown = w.Matrix(p + "ffn_down_shexp.weight", spec.SharedLength, embedding);
        }
    }

    /// <summary>Bytes of all routed experts' matrices of this layer.</summary>
    public long RoutedBytes => _expertBytes * _spec.Experts;

    /// <summary>Rows of the expert segments: every token's choices, each segment padded to a whole token quad.</summary>
    private static int SegmentRows(MixtureOfExpertsSpec spec, int tokens) =>
        tokens * spec.ExpertsUsed + (tokens > 1 ? 3 * Math.Min(spec.Experts, tokens * spec.ExpertsUsed) : 0);

    /// <summary>What a part of <paramref name="spec"/> needs for micro-batches of up to <paramref name="maxTokens"/> tokens (no weights needed).</summary>
    internal static PartNeeds NeedsFor(MixtureOfExpertsSpec spec, int embedding, int maxTokens)
    {
        long n = maxTokens, k = spec.ExpertsUsed, e = spec.Experts, rows = SegmentRows(spec, maxTokens);
        long floats = Layout.Floats(n, k, e, rows, embedding, spec.ExpertLength);
        return new PartNeeds(floats, 0, 2 * spec.Experts,
            [((int)rows, embedding), ((int)rows, spec.ExpertLength), (maxTokens, spec.SharedLength)]);
    }

    /// <summary>Where the part's scratch lives in <see cref="PassState.PartScratch"/> for a pass of n tokens.</summary>
    private readonly struct Layout
    {
        public readonly float* Logits, Scores, Selection, Weights, Gathered, Gate, Up;
        public readonly int* Chosen, Slot, RowToken, Count, Start;

        public Layout(float* scratch, int n, int k, int e, int rows, int embedding, int ff)
        {
            Logits = scratch;
            Scores = Logits + (long)n * e;
            Selection = Scores + (long)n * e;
            Weights = Selection + (long)n * e;
            Chosen = (int*)(Weights + (long)n * k);
            Slot = Chosen + (long)n * k;
            RowToken = Slot + (long)n * k;
            Count = RowToken + rows;
            Start = Count + e;
            Gathered = (float*)(((nint)(Start + e + 1) + 63) & ~(nint)63);
            Gate = Gathered + (long)rows * embedding;
            Up = Gate + (long)rows * ff;
        }

        public static long Floats(long n, long k, long e, long rows, int embedding, int ff) =>
            3 * n * e + 3 * n * k + rows + 2 * e + 1 + 16 + rows * embedding + 2 * rows * ff;
    }

    private Layout Plan(PassState s) => new(s.PartScratch.Pointer, s.Tokens, _spec.ExpertsUsed, _spec.Experts,
        SegmentRows(_spec, s.Tokens), _embedding, _spec.ExpertLength);

    public override void Run(PassState s)
    {
        int n = s.Tokens;
        var layout = Plan(s);
        if (s.Experts!.FirstLayer == _layer) s.Experts.BeginPass(n);
        Span<GgmlType> types = [_router.Type, _sharedGate.Type, _sharedUp.Type];
        var act = s.MatMul.Prepare(s.Pool, s.Xn.Pointer, n, _embedding, _spec.SharedExperts > 0 ? types : types[..1]);
        s.MatMul.Multiply(s.Pool, _router, act, layout.Logits);
        s.Parallel(this, OpRoute, n);
        s.Phase(PassState.PhaseRouter);

        RunShared(s, act);
        s.Phase(PassState.PhaseSharedExperts);

        int rows = GroupByExpert(s, layout);
        s.Parallel(this, OpGather, rows);
        act = s.MatMul.Prepare(s.Pool, layout.Gathered, rows, _embedding, [_gate[0].Type, _up[0].Type]);
        int jobs = 0;
        for (int e = 0; e < _spec.Experts; e++)
        {
            if (layout.Count[e] == 0) continue;
            var slice = act.Slice(layout.Start[e], layout.Count[e]);
            AddJob(s, ref jobs, _gate[e], slice, layout.Gate + (long)layout.Start[e] * _spec.ExpertLength);
            AddJob(s, ref jobs, _up[e], slice, layout.Up + (long)layout.Start[e] * _spec.ExpertLength);
        }
        s.MatMul.Multiply(s.Pool, s.JobWeights.AsSpan(0, jobs), s.JobInputs.AsSpan(0, jobs), s.JobOutputs.AsSpan(0, jobs));
        s.Parallel(this, OpExpertActivate, rows);
        // The gathered inputs are spent: the experts' outputs take their place.
        act = s.MatMul.Prepare(s.Pool, layout.Gate, rows, _spec.ExpertLength, [_down[0].Type]);
        jobs = 0;
        for (int e = 0; e < _spec.Experts; e++)
        {
            if (layout.Count[e] == 0) continue;
            AddJob(s, ref jobs, _down[e], act.Slice(layout.Start[e], layout.Count[e]), layout.Gathered + (long)layout.Start[e] * _embedding);
        }
        s.MatMul.Multiply(s.Pool, s.JobWeights.AsSpan(0, jobs), s.JobInputs.AsSpan(0, jobs), s.JobOutputs.AsSpan(0, jobs));
        s.Parallel(this, OpCombine, n);
        s.Phase(PassState.PhaseExperts);
    }

    private static void AddJob(PassState s, ref int jobs, in MatrixView w, in PreparedActivations input, float* output)
    {
        s.JobWeights[jobs] = w;
        s.JobInputs[jobs] = input;
        s.JobOutputs[jobs] = (nint)output;
        jobs++;
    }

    /// <summary>The shared experts' SwiGLU block into <see cref="PassState.Tmp"/> (zeros without shared experts).</summary>
    private void RunShared(PassState s, in PreparedActivations act)
    {
        int n = s.Tokens;
        if (_spec.SharedExperts == 0)
        {
            new Span<float>(s.Tmp.Pointer, n * _embedding).Clear();
            return;
        }
        s.MatMul.Multiply(s.Pool, [_sharedGate, _sharedUp], act, [(nint)s.Gate.Pointer, (nint)s.Up.Pointer]);
        s.Parallel(this, OpSharedActivate, n);
        s.MatMul.Multiply(s.Pool, _sharedDown, s.Gate.Pointer, n, s.Tmp.Pointer);
    }

    /// <summary>
    /// Lays out one segment of rows per chosen expert (tokens in batch order; for more than one token each segment
    /// starts on a token quad, so the tile kernels keep their metadata, the padding rows zero), records each choice's
    /// row and the usage. Returns the rows in use.
    /// </summary>
    private int GroupByExpert(PassState s, in Layout layout)
    {
        int n = s.Tokens, k = _spec.ExpertsUsed, experts = _spec.Experts;
        var count = new Span<int>(layout.Count, experts);
        count.Clear();
        for (int i = 0; i < n * k; i++) count[layout.Chosen[i]]++;
        int row = 0;
        for (int e = 0; e < experts; e++)
        {
            layout.Start[e] = row;
            int end = row + count[e];
            if (n > 1 && count[e] > 0) end = (end + 3) & ~3;
            for (int r = row + count[e]; r < end; r++) layout.RowToken[r] = -1;
            row = end;
            if (count[e] > 0) s.Experts!.RecordExpert(_layer, e, count[e], _expertBytes);
        }
        count.Clear();
        for (int t = 0; t < n; t++)
        {
            for (int j = 0; j < k; j++)
            {
                int e = layout.Chosen[t * k + j];
                int r = layout.Start[e] + count[e]++;
                layout.Slot[t * k + j] = r;
                layout.RowToken[r] = t;
            }
        }
        return row;
    }

    protected override void ExecutePart(PassState s, int op, int index, int thread)
    {
        var layout = Plan(s);
        int k = _spec.ExpertsUsed, e = _spec.Experts, ff = _spec.ExpertLength, d = _embedding;
        switch (op)
        {
            case OpRoute:
            {
                long o = (long)index * e;
                float margin = ExpertRouter.Route(_spec, layout.Logits + o, _bias, layout.Scores + o, layout.Selection + o,
                    layout.Chosen + index * k, layout.Weights + index * k);
                s.Experts!.RecordMargin(index, margin);
                break;
            }
            case OpSharedActivate:
            {
                long o = (long)index * _spec.SharedLength;
                SwiGlu.Apply(s.Gate.Pointer + o, s.Up.Pointer + o, s.Gate.Pointer + o, _spec.SharedLength);
                break;
            }
            case OpGather:
            {
                float* target = layout.Gathered + (long)index * d;
                int token = layout.RowToken[index];
                if (token < 0) new Span<float>(target, d).Clear();
                else Buffer.MemoryCopy(s.Xn.Pointer + (long)token * d, target, d * sizeof(float), d * sizeof(float));
                break;
            }
            case OpExpertActivate:
            {
                float* gate = layout.Gate + (long)index * ff;
                if (layout.RowToken[index] < 0) new Span<float>(gate, ff).Clear();
                else SwiGlu.Apply(gate, layout.Up + (long)index * ff, gate, ff);
                break;
            }
            case OpCombine:
                Combine(s, layout, index);
                break;
        }
    }

    /// <summary>
    /// A token's output: its experts' outputs weighted and summed in routing order (as llama.cpp adds them), then
    /// added to the shared experts' output. The first expert's output row holds the running sum.
    /// </summary>
    private void Combine(PassState s, in Layout layout, int token)
    {
        int k = _spec.ExpertsUsed, d = _embedding;
        float* sum = layout.Gathered + (long)layout.Slot[token * k] * d;
        Elementwise.Scale(sum, layout.Weights[token * k], d);
        for (int j = 1; j < k; j++)
        {
            Elementwise.MultiplyAdd(sum, layout.Gathered + (long)layout.Slot[token * k + j] * d, layout.Weights[token * k + j], d);
        }
        Elementwise.Add(s.Tmp.Pointer + (long)token * d, sum, d);
    }
}
