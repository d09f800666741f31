using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Models.Parts;

/// <summary>
/// Multi-head attention with grouped KV heads bound to its weights: Q/K/V projections (separate or one fused
/// matrix split by views) with optional biases, optional per-head Q/K RMSNorm, RoPE, cache write, flash attention
/// over each token's own sequence (window and softcap as the spec says), output projection.
/// </summary>
internal sealed unsafe class MultiHeadAttentionPart : BlockPart
{
    private const int OpRopeAndStore = 0, OpAttention = 1;
    private readonly MultiHeadAttentionSpec _spec;
    private readonly int _layer, _ropeSlot;
    private readonly MatrixView _query, _key, _value, _output;
    private readonly float* _queryBias, _keyBias, _valueBias, _outputBias, _queryNorm, _keyNorm;

    public MultiHeadAttentionPart(MultiHeadAttentionSpec spec, WeightBinder w, int layer, int embedding, float epsilon, int ropeSlot)
    {
        _spec = spec;
        _layer = layer;
        _ropeSlot = ropeSlot;
        string p = $"blk.{layer}.";
        if (spec.Layout == QkvLayout.Fused)
        {
            int total = spec.QueryWidth + spec.KWidth + spec.VWidth;
            _query = w.MatrixRows(p + "attn_qkv.weight", embedding, total, 0, spec.QueryWidth);
            _key = w.MatrixRows(p + "attn_qkv.weight", embedding, total, spec.QueryWidth, spec.KWidth);
            _value = w.MatrixRows(p + "attn_qkv.weight", embedding, total, spec.QueryWidth + spec.KWidth, spec.VWidth);
        }
        else
        {
            _query = w.Matrix(p + "attn_q.weight", embedding, spec.QueryWidth);
            _key = w.Matrix(p + "attn_k.weight", embedding, spec.KWidth);
            _value = w.Matrix(p + "attn_v.weight", embedding, spec.VWidth);
            if (spec.Biases != BiasUse.None)
            {
                bool required = spec.Biases == BiasUse.Required;
                _queryBias = w.Vector(p + "attn_q.bias", spec.QueryWidth, required);
                _keyBias = w.Vector(p + "attn_k.bias", spec.KWidth, required);
                _valueBias = w.Vector(p + "attn_v.bias", spec.VWidth, required);
            }
        }
        _output = w.Matrix(p + "attn_output.weight", spec.OutputWidth, embedding);
        if (spec.Biases == BiasUse.Optional) _outputBias = w.OptionalVector(p + "attn_output.bias", embedding);
        if (spec.HeadNorm)
        {
            _queryNorm = w.Vector(p + "attn_q_norm.weight", spec.HeadDimK);
            _keyNorm = w.Vector(p + "attn_k_norm.weight", spec.HeadDimK);
        }
        PostNormWeight = spec.PostNorm ? w.Vector(p + "post_attention_norm.weight", embedding) : null;
        Epsilon = epsilon;
    }

    public override void Run(PassState s)
    {
        int n = s.Tokens;
        Span<GgmlType> types = [_query.Type, _key.Type, _value.Type];
        var act = s.MatMul.Prepare(s.Pool, s.Xn.Pointer, n, s.Embedding, types);
        s.MatMul.Multiply(s.Pool, [_query, _key, _value], act, [(nint)s.Q.Pointer, (nint)s.K.Pointer, (nint)s.V.Pointer]);
        AddBias(s.Q.Pointer, _queryBias, n, _spec.QueryWidth);
        AddBias(s.K.Pointer, _keyBias, n, _spec.KWidth);
        AddBias(s.V.Pointer, _valueBias, n, _spec.VWidth);
        s.Phase(PassState.PhaseQkv);
        s.Parallel(this, OpRopeAndStore, n);
        s.Phase(PassState.PhaseRopeStore);
        s.Parallel(this, OpAttention, s.Blocks * _spec.KvHeads);
        s.Phase(PassState.PhaseAttention);
        s.MatMul.Multiply(s.Pool, _output, s.Attn.Pointer, n, s.Tmp.Pointer);
        AddBias(s.Tmp.Pointer, _outputBias, n, s.Embedding);
        PostNorm(s);
        s.Phase(PassState.PhaseAttentionOut);
    }

    private static void AddBias(float* y, float* bias, int tokens, int width)
    {
        if (bias == null) return;
        for (int t = 0; t < tokens; t++) Elementwise.Add(y + (long)t * width, bias, width);
    }

    protected override void ExecutePart(PassState s, int op, int index, int thread)
    {
        if (op == OpRopeAndStore) RopeAndStore(s, index);
        else Attend(s, index, thread);
    }

    private void RopeAndStore(PassState s, int token)
    {
        var spec = _spec;
        float* q = s.Q.Pointer + (long)token * spec.QueryWidth;
        float* k = s.K.Pointer + (long)token * spec.KWidth;
        if (_queryNorm != null)
        {
            RmsNorm.ApplyHeads(q, _queryNorm, spec.Heads, spec.HeadDimK, spec.HeadNormEpsilon);
            RmsNorm.ApplyHeads(k, _keyNorm, spec.KvHeads, spec.HeadDimK, spec.HeadNormEpsilon);
        }
        float* angles = s.RopeCache(token, _ropeSlot);
        Rope.Apply(q, spec.Heads, spec.HeadDimK, angles, spec.Rope.Dims, spec.Rope.NeoX);
        Rope.Apply(k, spec.KvHeads, spec.HeadDimK, angles, spec.Rope.Dims, spec.Rope.NeoX);
        var (group, g, local) = s.Cache!.Layer(_layer);
        var placement = s.Placement!;
        int slot = s.PlacementOffset + token;
        group.StoreK(placement.Streams[g][slot], local, placement.Cells[g][slot], k);
        group.StoreV(placement.Streams[g][slot], local, placement.Cells[g][slot], s.V.Pointer + (long)token * spec.VWidth);
    }

    private void Attend(PassState s, int index, int thread)
    {
        var spec = _spec;
        int block = index / spec.KvHeads, kvHead = index % spec.KvHeads, g = spec.GroupSize;
        BlockAttention.Run(s, _layer, block, thread, s.Q.Pointer + (long)kvHead * g * spec.HeadDimK, spec.QueryWidth,
            s.Attn.Pointer + (long)kvHead * g * spec.HeadDimV, spec.OutputWidth, g, spec.HeadDimK, spec.HeadDimV, kvHead, spec.Scale, spec.Softcap);
    }
}
