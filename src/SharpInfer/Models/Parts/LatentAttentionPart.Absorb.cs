using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Models.Parts;

/// <summary>
/// The absorbed form: each head's q_nope is folded through W_UK into the latent space (q_abs = W_UKᵀ·q_nope), so a
/// head's score is q_abs·c_kv + q_pe·k_pe over the cached latent rows — one key/value head of kv_lora + rope
/// elements whose values are its first kv_lora — and the attention output, still latent, goes through W_UV per head.
/// </summary>
internal sealed unsafe partial class LatentAttentionPart
{
    private void RunAbsorbed(PassState s, in Layout layout)
    {
        var spec = _spec;
        int n = s.Tokens, h = spec.Heads, stride = HeadStride(n);
        if (spec.Layout == LatentLayout.Split)
        {
            // attn_k_b holds W_UKᵀ per head (kv_lora rows of qk_nope): a plain product per head over its gathered queries.
            s.Parallel(this, OpGatherQueries, n);
            var act = s.MatMul.Prepare(s.Pool, layout.HeadIn, h * stride, spec.NopeDim, [_keyUp[0].Type]);
            MultiplyPerHead(s, _keyUp, act, n, stride, layout.HeadOut, spec.KvLoraRank);
            s.Parallel(this, OpAssembleQueries, n);
        }
        else
        {
            s.Parallel(this, OpAbsorbTransposed, h);
        }
        s.Phase(PassState.PhaseQkv);
        s.Parallel(this, OpAttendLatent, s.Blocks * HeadCalls);
        s.Phase(PassState.PhaseAttention);
        if (spec.Layout == LatentLayout.Split)
        {
            s.Parallel(this, OpGatherLatent, n);
            var latent = s.MatMul.Prepare(s.Pool, layout.HeadIn, h * stride, spec.KvLoraRank, [_valueUp[0].Type]);
            MultiplyPerHead(s, _valueUp, latent, n, stride, layout.HeadOut, spec.ValueDim);
            s.Parallel(this, OpScatterOutput, n);
        }
        else
        {
            s.Parallel(this, OpExpandWidened, h);
        }
    }

    /// <summary>Attention calls per block of tokens: the heads in groups of <see cref="HeadsPerCall"/>.</summary>
    private int HeadCalls => (_spec.Heads + HeadsPerCall - 1) / HeadsPerCall;

    /// <summary>Head i's matrix against rows [i·stride, i·stride + n) of the activations, into rows of <paramref name="outWidth"/> at out + i·stride·outWidth.</summary>
    private static void MultiplyPerHead(PassState s, MatrixView[] weights, in PreparedActivations act, int n, int stride, float* output, int outWidth)
    {
        for (int i = 0; i < weights.Length; i++)
        {
            s.JobWeights[i] = weights[i];
            s.JobInputs[i] = act.Slice(i * stride, n);
            s.JobOutputs[i] = (nint)(output + (long)i * stride * outWidth);
        }
        int count = weights.Length;
        s.MatMul.Multiply(s.Pool, s.JobWeights.AsSpan(0, count), s.JobInputs.AsSpan(0, count), s.JobOutputs.AsSpan(0, count));
    }

    /// <summary>A token's q_nope of every head into the per-head inputs.</summary>
    private void GatherQueries(PassState s, in Layout layout, int token)
    {
        var spec = _spec;
        int stride = HeadStride(s.Tokens);
        long bytes = spec.NopeDim * sizeof(float);
        for (int i = 0; i < spec.Heads; i++)
        {
            float* source = layout.Query + (long)token * spec.QueryWidth + (long)i * spec.QueryHeadDim;
            Buffer.MemoryCopy(source, layout.HeadIn + ((long)i * stride + token) * spec.NopeDim, bytes, bytes);
        }
    }

    /// <summary>A token's absorbed queries: per head [q_abs (from the per-head outputs), q_pe].</summary>
    private void AssembleQueries(PassState s, in Layout layout, int token)
    {
        var spec = _spec;
        int stride = HeadStride(s.Tokens);
        long absorbed = spec.KvLoraRank * sizeof(float), rope = spec.RopeDim * sizeof(float);
        for (int i = 0; i < spec.Heads; i++)
        {
            float* target = layout.Absorbed + ((long)token * spec.Heads + i) * spec.LatentWidth;
            Buffer.MemoryCopy(layout.HeadOut + ((long)i * stride + token) * spec.KvLoraRank, target, absorbed, absorbed);
            float* qpe = layout.Query + (long)token * spec.QueryWidth + (long)i * spec.QueryHeadDim + spec.NopeDim;
            Buffer.MemoryCopy(qpe, target + spec.KvLoraRank, rope, rope);
        }
    }

    /// <summary>
    /// One head's latent attention outputs through its W_UV rows of the combined kv_b, in f32 like the absorbed
    /// queries (so this layout's absorbed form rounds no activation where its decompressed form rounds only the
    /// latent), straight into the output projection's input.
    /// </summary>
    private void ExpandWidened(PassState s, in Layout layout, int head, int thread)
    {
        var spec = _spec;
        float* scratch = s.AttentionScratch.Pointer + thread * s.AttentionScratchFloats;
        WidenedProduct.Multiply(_valueUp[head], layout.HeadOut + (long)head * spec.KvLoraRank, (long)spec.Heads * spec.KvLoraRank, s.Tokens,
            s.Attn.Pointer + (long)head * spec.ValueDim, spec.OutputWidth, scratch);
    }

    /// <summary>
    /// One head's absorbed queries for every token, from the combined kv_b whose W_UK rows are q_nope-indexed: a
    /// transposed product written straight into the absorbed queries, then q_pe beside it.
    /// </summary>
    private void AbsorbTransposed(PassState s, in Layout layout, int head, int thread)
    {
        var spec = _spec;
        int n = s.Tokens;
        long rowStride = (long)spec.Heads * spec.LatentWidth;
        float* q = layout.Query + (long)head * spec.QueryHeadDim;
        float* target = layout.Absorbed + (long)head * spec.LatentWidth;
        float* scratch = s.AttentionScratch.Pointer + thread * s.AttentionScratchFloats;
        WidenedProduct.MultiplyTransposed(_keyUp[head], q, spec.QueryWidth, n, target, rowStride, scratch);
        long rope = spec.RopeDim * sizeof(float);
        for (int t = 0; t < n; t++) Buffer.MemoryCopy(q + (long)t * spec.QueryWidth + spec.NopeDim, target + t * rowStride + spec.KvLoraRank, rope, rope);
    }

    /// <summary>
    /// Attention of one block of tokens and up to <see cref="HeadsPerCall"/> heads over the latent rows of the tokens'
    /// sequence: keys are the whole rows, values their first kv_lora elements (the same cached row, widened once);
    /// the latent outputs go to [token][head][kv_lora] in the per-head outputs' room.
    /// </summary>
    private void AttendLatent(PassState s, in Layout layout, int index, int thread)
    {
        var spec = _spec;
        int block = index / HeadCalls, firstHead = index % HeadCalls * HeadsPerCall;
        int heads = Math.Min(HeadsPerCall, spec.Heads - firstHead);
        long qStride = (long)spec.Heads * spec.LatentWidth, oStride = (long)spec.Heads * spec.KvLoraRank;
        BlockAttention.Run(s, _layer, block, thread, layout.Absorbed + (long)firstHead * spec.LatentWidth, qStride,
            layout.HeadOut + (long)firstHead * spec.KvLoraRank, oStride, heads, spec.LatentWidth, spec.KvLoraRank, 0, spec.Scale, valuesInKeys: true);
    }

    /// <summary>A token's latent attention outputs of every head into the per-head inputs.</summary>
    private void GatherLatent(PassState s, in Layout layout, int token)
    {
        var spec = _spec;
        int stride = HeadStride(s.Tokens);
        long bytes = spec.KvLoraRank * sizeof(float);
        float* source = layout.HeadOut + (long)token * spec.Heads * spec.KvLoraRank;
        for (int i = 0; i < spec.Heads; i++)
        {
            Buffer.MemoryCopy(source + (long)i * spec.KvLoraRank, layout.HeadIn + ((long)i * stride + token) * spec.KvLoraRank, bytes, bytes);
        }
    }

    /// <summary>A token's per-head outputs (after W_UV) into the output projection's input, heads side by side.</summary>
    private void ScatterOutput(PassState s, in Layout layout, int token)
    {
        var spec = _spec;
        int stride = HeadStride(s.Tokens);
        long bytes = spec.ValueDim * sizeof(float);
        for (int i = 0; i < spec.Heads; i++)
        {
            Buffer.MemoryCopy(layout.HeadOut + ((long)i * stride + token) * spec.ValueDim,
                s.Attn.Pointer + (long)token * spec.OutputWidth + (long)i * spec.ValueDim, bytes, bytes);
        }
    }
}
