using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Models.Parts;

/// <summary>
/// Multi-head Latent Attention bound to its weights. Common to both modes: the query (through its compression where
/// the model has one) and the latent projections, the RMSNorm of the latent c_kv, RoPE on q_pe and k_pe. Then, as the
/// pass's <see cref="MlaMode"/> says, either the absorbed form over a latent cache (<c>LatentAttentionPart.Absorb.cs</c>)
/// or the decompressed one over per-head keys and values (<c>LatentAttentionPart.Naive.cs</c>). Either layout of the
/// latent-to-head projections serves either mode: a product the stored orientation does not suit runs as a
/// transposed <see cref="WidenedProduct"/>.
/// </summary>
internal sealed unsafe partial class LatentAttentionPart : BlockPart
{
    private const int OpNormQuery = 0, OpPrepareToken = 1, OpGatherQueries = 2, OpAbsorbTransposed = 3, OpAssembleQueries = 4,
        OpAttendLatent = 5, OpGatherLatent = 6, OpScatterOutput = 7, OpExpandWidened = 8, OpDecompressHead = 9, OpAssembleRows = 10, OpAttendHeads = 11;

    /// <summary>Query heads per latent attention call: one lane block of the flash kernel, so the cache tile widened for them is shared by eight heads.</summary>
    private const int HeadsPerCall = 8;

    private readonly LatentAttentionSpec _spec;
    private readonly int _layer, _ropeSlot, _embedding;
    private readonly MatrixView _queryA, _query, _latent, _output;
    private readonly float* _queryNorm, _latentNorm;
    /// <summary>Per head: W_UK as stored (split: kv_lora rows of qk_nope; combined: qk_nope rows of kv_lora) and W_UV (v rows of kv_lora).</summary>
    private readonly MatrixView[] _keyUp, _valueUp;
    /// <summary>The combined kv_b: every head's k_nope and v rows as one matrix (unused in the split layout).</summary>
    private readonly MatrixView _decompress;

    /// <summary>
    /// The rounding each layout's native form gives the activations of its latent-to-head products (8-bit blocks
    /// for quantized weights): the other form rounds the same values the same way, so both modes compute one result.
    /// Combined layout (native: decompression of c_kv through kv_b), absorbed: the cached latent. Split layout
    /// (native: absorption of q_nope through k_b), decompressed: q_nope.
    /// </summary>
    private readonly GgmlType _latentRounding, _queryRounding;

    public LatentAttentionPart(LatentAttentionSpec spec, WeightBinder w, int layer, int embedding, int ropeSlot)
    {
        // No family has one, so this part neither declares nor applies it: a description asking for it is refused, not ignored.
        if (spec.PostNorm) throw new NotSupportedException($"layer {layer}: a post-norm after latent attention is not supported");
        _spec = spec;
        _layer = layer;
        _ropeSlot = ropeSlot;
        _embedding = embedding;
        string p = $"blk.{layer}.";
        int h = spec.Heads, lora = spec.KvLoraRank, nope = spec.NopeDim, v = spec.ValueDim;
        if (spec.QueryLoraRank > 0)
        {
            _queryA = w.Matrix(p + "attn_q_a.weight", embedding, spec.QueryLoraRank);
            _queryNorm = w.Vector(p + "attn_q_a_norm.weight", spec.QueryLoraRank);
            _query = w.Matrix(p + "attn_q_b.weight", spec.QueryLoraRank, spec.QueryWidth);
        }
        else
        {
            _query = w.Matrix(p + "attn_q.weight", embedding, spec.QueryWidth);
        }
        _latent = w.Matrix(p + "attn_kv_a_mqa.weight", embedding, spec.LatentWidth);
        _latentNorm = w.Vector(p + "attn_kv_a_norm.weight", lora);
        _output = w.Matrix(p + "attn_output.weight", spec.OutputWidth, embedding);
        _latentRounding = _queryRounding = GgmlType.F32;
        if (spec.Layout == LatentLayout.Split)
        {
            _keyUp = w.Stacked(p + "attn_k_b.weight", nope, lora, h);
            _valueUp = w.Stacked(p + "attn_v_b.weight", lora, v, h);
            _queryRounding = MatMul.ActivationFormat(_keyUp[0].Type);
        }
        else
        {
            _decompress = w.Matrix(p + "attn_kv_b.weight", lora, h * (nope + v));
            _latentRounding = MatMul.ActivationFormat(_decompress.Type);
            _keyUp = new MatrixView[h];
            _valueUp = new MatrixView[h];
            for (int i = 0; i < h; i++)
            {
                _keyUp[i] = new MatrixView(_decompress.Row(i * (nope + v)), _decompress.Type, nope, lora, _decompress.Name);
                _valueUp[i] = new MatrixView(_decompress.Row(i * (nope + v) + nope), _decompress.Type, v, lora, _decompress.Name);
            }
        }
    }

    /// <summary>Rounds <paramref name="n"/> values in place to what <paramref name="format"/> can hold (an activation round trip).</summary>
    private static void RoundTrip(GgmlType format, float* x, int n)
    {
        if (format == GgmlType.F32) return;
        byte* packed = stackalloc byte[(int)GgmlTypeInfo.RowBytes(format, n)];
        Quantize.Row(format, x, packed, n);
        Dequantize.Row(format, packed, x, n);
    }

    /// <summary>Tokens per head segment of the gathered per-head inputs: a whole token quad from two tokens on (see <see cref="PreparedActivations.Slice"/>).</summary>
    private static int HeadStride(int tokens) => tokens == 1 ? 1 : (tokens + 3) & ~3;

    /// <summary>What a part of <paramref name="spec"/> needs for micro-batches of up to <paramref name="maxTokens"/> tokens (no weights needed).</summary>
    internal static PartNeeds NeedsFor(LatentAttentionSpec spec, int embedding, int maxTokens, MlaMode mla)
    {
        int h = spec.Heads, stride = HeadStride(maxTokens), widest = Math.Max(spec.KvLoraRank, spec.NopeDim);
        long floats = new Layout(null, spec, maxTokens, mla).End;
        long thread = Math.Max(FlashAttention.ScratchFloats(Math.Min(h, HeadsPerCall), spec.LatentWidth, spec.KvLoraRank),
            FlashAttention.ScratchFloats(1, spec.QueryHeadDim, spec.ValueDim));
        (int, int)[] products =
        [
            (maxTokens, embedding), (maxTokens, spec.QueryLoraRank), (maxTokens, spec.KvLoraRank), (h * stride, widest),
        ];
        return new PartNeeds(floats, Math.Max(thread, widest), h, products);
    }

    /// <summary>
    /// Where the part's buffers live in <see cref="PassState.PartScratch"/> for a pass of n tokens. Absorb:
    /// per-head inputs and outputs of the per-head products ([head][token][…]), the absorbed queries ([token][head]
    /// [kv_lora + rope]); the latent attention output shares the per-head outputs' room (they are spent by then).
    /// Naive: the contiguous latents, the decompressed rows and the per-head key and value rows to cache.
    /// </summary>
    private readonly struct Layout
    {
        public readonly float* QueryA, Query, Latent, HeadIn, HeadOut, Absorbed, Compact, Decompressed, Keys, Values;
        public readonly long End;

        public Layout(float* scratch, LatentAttentionSpec spec, int n, MlaMode mode)
        {
            long h = spec.Heads, stride = HeadStride(n), lora = spec.KvLoraRank;
            long offset = 0;
            float* Take(float* b, long floats, ref long o)
            {
                float* p = b + o;
                o += (floats + 15) & ~15L;
                return p;
            }
            QueryA = Take(scratch, n * (long)spec.QueryLoraRank, ref offset);
            Query = Take(scratch, n * (long)spec.QueryWidth, ref offset);
            Latent = Take(scratch, n * (long)spec.LatentWidth, ref offset);
            if (mode == MlaMode.Absorb)
            {
                HeadIn = Take(scratch, h * stride * Math.Max(lora, spec.NopeDim), ref offset);
                HeadOut = Take(scratch, h * stride * Math.Max(lora, spec.ValueDim), ref offset);
                Absorbed = Take(scratch, n * h * spec.LatentWidth, ref offset);
            }
            else
            {
                Compact = Take(scratch, n * lora, ref offset);
                Decompressed = Take(scratch, spec.Layout == LatentLayout.Combined ? n * h * (spec.NopeDim + spec.ValueDim) : 0, ref offset);
                Keys = Take(scratch, n * (long)spec.QueryWidth, ref offset);
                Values = Take(scratch, n * h * spec.ValueDim, ref offset);
            }
            End = offset;
        }
    }

    private Layout Plan(PassState s) => new(s.PartScratch.Pointer, _spec, s.Tokens, s.Mla);

    public override void Run(PassState s)
    {
        var layout = Plan(s);
        Project(s, layout);
        if (s.Mla == MlaMode.Absorb) RunAbsorbed(s, layout);
        else RunNaive(s, layout);
        s.MatMul.Multiply(s.Pool, _output, s.Attn.Pointer, s.Tokens, s.Tmp.Pointer);
        s.Phase(PassState.PhaseAttentionOut);
    }

    /// <summary>Queries (through their compression) and latents; then norms, RoPE, and in absorb mode the cache write.</summary>
    private void Project(PassState s, in Layout layout)
    {
        int n = s.Tokens;
        if (_spec.QueryLoraRank > 0)
        {
            var act = s.MatMul.Prepare(s.Pool, s.Xn.Pointer, n, _embedding, [_queryA.Type, _latent.Type]);
            s.MatMul.Multiply(s.Pool, [_queryA, _latent], act, [(nint)layout.QueryA, (nint)layout.Latent]);
            s.Parallel(this, OpNormQuery, n);
            s.MatMul.Multiply(s.Pool, _query, layout.QueryA, n, layout.Query);
        }
        else
        {
            var act = s.MatMul.Prepare(s.Pool, s.Xn.Pointer, n, _embedding, [_query.Type, _latent.Type]);
            s.MatMul.Multiply(s.Pool, [_query, _latent], act, [(nint)layout.Query, (nint)layout.Latent]);
        }
        s.Phase(PassState.PhaseQkv);
        s.Parallel(this, OpPrepareToken, n);
        s.Phase(PassState.PhaseRopeStore);
    }

    protected override void ExecutePart(PassState s, int op, int index, int thread)
    {
        var layout = Plan(s);
        switch (op)
        {
            case OpNormQuery:
            {
                float* q = layout.QueryA + (long)index * _spec.QueryLoraRank;
                RmsNorm.Apply(q, _queryNorm, q, _spec.QueryLoraRank, _spec.NormEpsilon);
                break;
            }
            case OpPrepareToken:
                PrepareToken(s, layout, index);
                break;
            case OpGatherQueries:
                GatherQueries(s, layout, index);
                break;
            case OpAbsorbTransposed:
                AbsorbTransposed(s, layout, index, thread);
                break;
            case OpAssembleQueries:
                AssembleQueries(s, layout, index);
                break;
            case OpAttendLatent:
                AttendLatent(s, layout, index, thread);
                break;
            case OpGatherLatent:
                GatherLatent(s, layout, index);
                break;
            case OpScatterOutput:
                ScatterOutput(s, layout, index);
                break;
            case OpExpandWidened:
                ExpandWidened(s, layout, index, thread);
                break;
            case OpDecompressHead:
                DecompressHead(s, layout, index, thread);
                break;
            case OpAssembleRows:
                AssembleRows(s, layout, index);
                break;
            case OpAttendHeads:
                AttendHeads(s, layout, index, thread);
                break;
        }
    }

    /// <summary>
    /// One token: RMSNorm of its latent c_kv, RoPE on k_pe (shared by all heads) and on every head's q_pe; in absorb
    /// mode the latent row [c_kv, k_pe] goes to the cache (c_kv rounded as a decompression would round it, see
    /// <see cref="_latentRounding"/>), in naive mode q_nope is rounded as an absorption would round it.
    /// </summary>
    private void PrepareToken(PassState s, in Layout layout, int token)
    {
        var spec = _spec;
        float* latent = layout.Latent + (long)token * spec.LatentWidth;
        RmsNorm.Apply(latent, _latentNorm, latent, spec.KvLoraRank, spec.NormEpsilon);
        float* angles = s.RopeCache(token, _ropeSlot);
        Rope.Apply(latent + spec.KvLoraRank, 1, spec.RopeDim, angles, spec.RopeDim, neox: false);
        float* query = layout.Query + (long)token * spec.QueryWidth;
        Rope.Apply(query + spec.NopeDim, spec.Heads, spec.QueryHeadDim, angles, spec.RopeDim, neox: false);
        if (s.Mla == MlaMode.Absorb)
        {
            RoundTrip(_latentRounding, latent, spec.KvLoraRank);
            var (group, g, local) = s.Cache!.Layer(_layer);
            int slot = s.PlacementOffset + token;
            group.StoreK(s.Placement!.Streams[g][slot], local, s.Placement.Cells[g][slot], latent);
        }
        else
        {
            for (int i = 0; i < spec.Heads; i++) RoundTrip(_queryRounding, query + (long)i * spec.QueryHeadDim, spec.NopeDim);
            Buffer.MemoryCopy(latent, layout.Compact + (long)token * spec.KvLoraRank, spec.KvLoraRank * sizeof(float), spec.KvLoraRank * sizeof(float));
        }
    }
}
