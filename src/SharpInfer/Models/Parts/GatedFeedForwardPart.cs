using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Models.Parts;

/// <summary>A gated feed-forward block bound to its weights: down(act(gate·x) ⊙ up·x), SwiGLU or GeGLU.</summary>
internal sealed unsafe class GatedFeedForwardPart : BlockPart
{
    private const int OpActivate = 0;
    private readonly GatedFeedForwardSpec _spec;
    private readonly MatrixView _gate, _up, _down;

    public GatedFeedForwardPart(GatedFeedForwardSpec spec, WeightBinder w, int layer, int embedding, float epsilon)
    {
        _spec = spec;
        string p = $"blk.{layer}.";
        int ff = spec.Length;
        if (spec.FusedGateUp)
        {
            _gate = w.MatrixRows(p + "ffn_up.weight", embedding, 2 * ff, 0, ff);
            _up = w.MatrixRows(p + "ffn_up.weight", embedding, 2 * ff, ff, ff);
        }
        else
        {
            _gate = w.Matrix(p + "ffn_gate.weight", embedding, ff);
            _up = w.Matrix(p + "ffn_up.weight", embedding, ff);
        }
        _down = w.Matrix(p + "ffn_down.weight", ff, embedding);
        PostNormWeight = spec.PostNorm ? w.Vector(p + "post_ffw_norm.weight", embedding) : null;
        Epsilon = epsilon;
    }

    public override void Run(PassState s)
    {
        int n = s.Tokens;
        Span<GgmlType> types = [_gate.Type, _up.Type];
        var act = s.MatMul.Prepare(s.Pool, s.Xn.Pointer, n, s.Embedding, types);
        s.MatMul.Multiply(s.Pool, [_gate, _up], act, [(nint)s.Gate.Pointer, (nint)s.Up.Pointer]);
        s.Phase(PassState.PhaseFfnUp);
        s.Parallel(this, OpActivate, n);
        s.Phase(PassState.PhaseActivation);
        s.MatMul.Multiply(s.Pool, _down, s.Gate.Pointer, n, s.Tmp.Pointer);
        PostNorm(s);
        s.Phase(PassState.PhaseFfnDown);
    }

    protected override void ExecutePart(PassState s, int op, int index, int thread)
    {
        long off = (long)index * _spec.Length;
        float* gate = s.Gate.Pointer + off, up = s.Up.Pointer + off;
        if (_spec.Activation == GateActivation.GeluTanh) GeGlu.Apply(gate, up, gate, _spec.Length);
        else SwiGlu.Apply(gate, up, gate, _spec.Length);
    }
}
