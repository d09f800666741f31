using System.Runtime.InteropServices;
using SharpInfer.Kernels;
using SharpInfer.KvCache;
using SharpInfer.Tensors;
using SharpInfer.Threading;

namespace SharpInfer.Models;

/// <summary>The tokens of one forward pass with the cache cells assigned to them.</summary>
public readonly ref struct ForwardBatch
{
    /// <summary>
    /// Creates the description; spans have one entry per token except <paramref name="outputs"/>. The tokens' cells are
    /// <paramref name="placement"/>'s entries from <paramref name="placementOffset"/> on.
    /// </summary>
    public ForwardBatch(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<int> sequences,
        KvPlacement placement, int placementOffset, ReadOnlySpan<int> outputs)
    {
        Tokens = tokens;
        Positions = positions;
        Sequences = sequences;
        Placement = placement;
        PlacementOffset = placementOffset;
        Outputs = outputs;
    }

    /// <summary>Token ids.</summary>
    public ReadOnlySpan<int> Tokens { get; }
    /// <summary>Positions.</summary>
    public ReadOnlySpan<int> Positions { get; }
    /// <summary>The sequence whose cells each token attends to.</summary>
    public ReadOnlySpan<int> Sequences { get; }
    /// <summary>Cells of the tokens in every cache group.</summary>
    public KvPlacement Placement { get; }
    /// <summary>Index of the first token in <see cref="Placement"/>.</summary>
    public int PlacementOffset { get; }
    /// <summary>Indices (into the batch) of the tokens whose logits are wanted, in output order.</summary>
    public ReadOnlySpan<int> Outputs { get; }
}

/// <summary>
/// Runs the Llama forward pass over a micro-batch: embedding, per block RMSNorm → Q/K/V → RoPE → cache write →
/// attention over each token's own sequence → output projection → residual → RMSNorm → SwiGLU FFN → residual,
/// then the final norm and the logits of the requested tokens. Owns every scratch buffer it needs, sized once,
/// so a pass allocates nothing.
/// </summary>
public sealed unsafe class LlamaForwardPass : IDisposable
{
    private readonly LlamaModel _model;
    private readonly LlamaHyperParameters _hp;
    private readonly ComputePool _pool;
    private readonly MatMul _matmul;
    private readonly NativeBuffer<float> _x, _xn, _q, _k, _v, _attn, _tmp, _gate, _up, _rope, _attnScratch, _outHidden;
    private readonly int[] _tokenSeq, _tokenPos, _tokenIds, _outputIndex, _blockFirst, _blockCount;
    private int _blocks;
    private readonly GCHandle _self;
    private KvCacheSet? _cache;
    private KvPlacement? _placement;
    private int _placementOffset;
    private int _layer, _tokens;
    private Operation _op;

    private enum Operation { Embed, AttentionNorm, RopeAndStore, Attention, FeedForwardNorm, SwiGlu, OutputNorm }

    private readonly long[] _phaseTicks = new long[PhaseNames.Length];
    private long _mark;

    /// <summary>Names of the phases <see cref="PhaseTicks"/> accumulates, in order.</summary>
    public static readonly string[] PhaseNames = ["embed", "norms", "qkv", "rope+store", "attention", "attn-out", "ffn-up", "swiglu", "ffn-down", "residual", "logits"];

    /// <summary>
    /// Stopwatch ticks spent in each phase since creation (or <see cref="ResetPhaseTicks"/>), summed over passes:
    /// where a step's time goes, for <c>bench --phases</c>. Costs two timestamp reads per phase.
    /// </summary>
    public ReadOnlySpan<long> PhaseTicks => _phaseTicks;

    /// <summary>Zeroes <see cref="PhaseTicks"/>.</summary>
    public void ResetPhaseTicks() => Array.Clear(_phaseTicks);

    private void Phase(int phase)
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        _phaseTicks[phase] += now - _mark;
        _mark = now;
    }

    /// <summary>Allocates scratch for up to <paramref name="maxTokens"/> tokens and <paramref name="maxOutputs"/> logit rows.</summary>
    public LlamaForwardPass(LlamaModel model, int maxTokens, int maxOutputs, ComputePool pool)
    {
        _model = model;
        _hp = model.HyperParameters;
        _pool = pool;
        MaxTokens = maxTokens;
        MaxOutputs = maxOutputs;
        int d = _hp.EmbeddingLength, qw = _hp.HeadCount * _hp.HeadDimK, aw = _hp.HeadCount * _hp.HeadDimV;
        int widest = Math.Max(Math.Max(d, _hp.FeedForwardLength), Math.Max(qw, aw));
        _matmul = new MatMul(maxTokens, widest, pool.ThreadCount);
        _x = new NativeBuffer<float>((long)maxTokens * d);
        _xn = new NativeBuffer<float>((long)maxTokens * d);
        _q = new NativeBuffer<float>((long)maxTokens * qw);
        _k = new NativeBuffer<float>((long)maxTokens * _hp.KWidth);
        _v = new NativeBuffer<float>((long)maxTokens * _hp.VWidth);
        _attn = new NativeBuffer<float>((long)maxTokens * aw);
        _tmp = new NativeBuffer<float>((long)maxTokens * d);
        _gate = new NativeBuffer<float>((long)maxTokens * _hp.FeedForwardLength);
        _up = new NativeBuffer<float>((long)maxTokens * _hp.FeedForwardLength);
        _rope = new NativeBuffer<float>((long)maxTokens * _hp.Rope.Dims);
        _attnScratch = new NativeBuffer<float>((long)pool.ThreadCount * AttentionScratchFloats);
        _outHidden = new NativeBuffer<float>((long)maxOutputs * d);
        _tokenSeq = new int[maxTokens];
        _tokenPos = new int[maxTokens];
        _tokenIds = new int[maxTokens];
        _outputIndex = new int[maxOutputs];
        _blockFirst = new int[maxTokens];
        _blockCount = new int[maxTokens];
        _self = GCHandle.Alloc(this);
    }

    /// <summary>Largest micro-batch.</summary>
    public int MaxTokens { get; }

    private long AttentionScratchFloats => FlashAttention.ScratchFloats(_hp.GroupSize, _hp.HeadDimK, _hp.HeadDimV) + 16;

    /// <summary>Most logit rows per pass.</summary>
    public int MaxOutputs { get; }

    /// <summary>Bytes of scratch held.</summary>
    public long ScratchBytes => _matmul.ScratchBytes + new[] { _x, _xn, _q, _k, _v, _attn, _tmp, _gate, _up, _rope, _attnScratch, _outHidden }.Sum(b => b.ByteSize);

    /// <summary>
    /// Runs the pass. The batch's cells must already be reserved in <paramref name="cache"/> (so tokens of one
    /// sequence in the same batch see each other causally). Logits of the requested tokens go to
    /// <paramref name="logits"/>, one row of VocabSize per output.
    /// </summary>
    public void Run(in ForwardBatch batch, KvCacheSet cache, float* logits)
    {
        int n = batch.Tokens.Length;
        if (n == 0) return;
        if (n > MaxTokens) throw new ArgumentException($"micro-batch of {n} tokens exceeds the {MaxTokens} this pass was sized for");
        if (batch.Outputs.Length > MaxOutputs) throw new ArgumentException($"{batch.Outputs.Length} logit rows exceed the {MaxOutputs} this pass was sized for");
        _cache = cache;
        _placement = batch.Placement;
        _placementOffset = batch.PlacementOffset;
        _tokens = n;
        batch.Sequences.CopyTo(_tokenSeq);
        batch.Positions.CopyTo(_tokenPos);
        batch.Tokens.CopyTo(_tokenIds);
        _mark = System.Diagnostics.Stopwatch.GetTimestamp();
        PlanAttentionBlocks(n);
        Parallel(Operation.Embed, n);
        Phase(0);

        int d = _hp.EmbeddingLength;
        var weights = _model.Weights;
        Span<GgmlType> types = stackalloc GgmlType[3];
        for (int l = 0; l < _hp.LayerCount; l++)
        {
            _layer = l;
            var w = weights.Layers[l];
            Parallel(Operation.AttentionNorm, n);
            Phase(1);
            types[0] = w.Query.Type;
            types[1] = w.Key.Type;
            types[2] = w.Value.Type;
            var act = _matmul.Prepare(_pool, _xn.Pointer, n, d, types);
            _matmul.Multiply(_pool, [w.Query, w.Key, w.Value], act, [(nint)_q.Pointer, (nint)_k.Pointer, (nint)_v.Pointer]);
            AddBias(_q.Pointer, w.QueryBias, n, w.Query.Rows);
            AddBias(_k.Pointer, w.KeyBias, n, w.Key.Rows);
            AddBias(_v.Pointer, w.ValueBias, n, w.Value.Rows);
            Phase(2);
            Parallel(Operation.RopeAndStore, n);
            Phase(3);
            Parallel(Operation.Attention, _blocks * _hp.KvHeadCount);
            Phase(4);
            _matmul.Multiply(_pool, w.Output, _attn.Pointer, n, _tmp.Pointer);
            AddBias(_tmp.Pointer, w.OutputBias, n, d);
            Phase(5);
            for (int i = 0; i < n; i++) Elementwise.Add(_x.Pointer + (long)i * d, _tmp.Pointer + (long)i * d, d);
            Phase(9);

            Parallel(Operation.FeedForwardNorm, n);
            Phase(1);
            types[0] = w.Gate.Type;
            types[1] = w.Up.Type;
            var ffAct = _matmul.Prepare(_pool, _xn.Pointer, n, d, types[..2]);
            _matmul.Multiply(_pool, [w.Gate, w.Up], ffAct, [(nint)_gate.Pointer, (nint)_up.Pointer]);
            Phase(6);
            Parallel(Operation.SwiGlu, n);
            Phase(7);
            _matmul.Multiply(_pool, w.Down, _gate.Pointer, n, _tmp.Pointer);
            Phase(8);
            for (int i = 0; i < n; i++) Elementwise.Add(_x.Pointer + (long)i * d, _tmp.Pointer + (long)i * d, d);
            Phase(9);
        }

        int outputs = batch.Outputs.Length;
        if (outputs == 0) return;
        batch.Outputs.CopyTo(_outputIndex);
        Parallel(Operation.OutputNorm, outputs);
        Phase(1);
        _matmul.Multiply(_pool, weights.Output, _outHidden.Pointer, outputs, logits);
        Phase(10);
    }

    /// <summary>
    /// Groups consecutive tokens of the same sequence into attention blocks of at most
    /// <see cref="FlashAttention.MaxTokens"/>, so each block widens a cache tile once for all its tokens.
    /// </summary>
    private void PlanAttentionBlocks(int n)
    {
        _blocks = 0;
        for (int i = 0; i < n;)
        {
            int j = i + 1;
            while (j < n && j - i < FlashAttention.MaxTokens && _tokenSeq[j] == _tokenSeq[i]) j++;
            _blockFirst[_blocks] = i;
            _blockCount[_blocks] = j - i;
            _blocks++;
            i = j;
        }
    }

    private static void AddBias(float* y, float* bias, int tokens, int width)
    {
        if (bias == null) return;
        for (int t = 0; t < tokens; t++) Elementwise.Add(y + (long)t * width, bias, width);
    }

    private void Parallel(Operation op, int count)
    {
        _op = op;
        if (count == 1)
        {
            Execute(0, 0);
            return;
        }
        _pool.For(count, &Trampoline, (void*)GCHandle.ToIntPtr(_self));
    }

    private static void Trampoline(void* context, int index, int thread) =>
        ((LlamaForwardPass)GCHandle.FromIntPtr((IntPtr)context).Target!).Execute(index, thread);

    private void Execute(int index, int thread)
    {
        int d = _hp.EmbeddingLength;
        switch (_op)
        {
            case Operation.Embed:
            {
                int token = _tokenIds[index];
                if ((uint)token >= (uint)_hp.VocabSize) throw new ArgumentOutOfRangeException(nameof(index), $"token id {token} is outside the vocabulary of {_hp.VocabSize}");
                _model.Weights.TokenEmbedding.DequantizeRow(token, _x.Pointer + (long)index * d);
                Rope.BuildCache(_model.RopeParameters, _tokenPos[index], _rope.Pointer + (long)index * _hp.Rope.Dims);
                break;
            }
            case Operation.AttentionNorm:
                RmsNorm.Apply(_x.Pointer + (long)index * d, _model.Weights.Layers[_layer].AttentionNorm, _xn.Pointer + (long)index * d, d, _hp.RmsEpsilon);
                break;
            case Operation.FeedForwardNorm:
                RmsNorm.Apply(_x.Pointer + (long)index * d, _model.Weights.Layers[_layer].FeedForwardNorm, _xn.Pointer + (long)index * d, d, _hp.RmsEpsilon);
                break;
            case Operation.RopeAndStore:
            {
                float* cache = _rope.Pointer + (long)index * _hp.Rope.Dims;
                float* q = _q.Pointer + (long)index * _hp.HeadCount * _hp.HeadDimK;
                float* k = _k.Pointer + (long)index * _hp.KWidth;
                Rope.Apply(q, _hp.HeadCount, _hp.HeadDimK, cache, _hp.Rope.Dims, _hp.Rope.NeoX);
                Rope.Apply(k, _hp.KvHeadCount, _hp.HeadDimK, cache, _hp.Rope.Dims, _hp.Rope.NeoX);
                var (group, g, local) = _cache!.Layer(_layer);
                int slot = _placementOffset + index;
                group.StoreK(_placement!.Streams[g][slot], local, _placement.Cells[g][slot], k);
                group.StoreV(_placement.Streams[g][slot], local, _placement.Cells[g][slot], _v.Pointer + (long)index * _hp.VWidth);
                break;
            }
            case Operation.Attention:
            {
                int block = index / _hp.KvHeadCount, kvHead = index % _hp.KvHeadCount;
                int first = _blockFirst[block], count = _blockCount[block], seq = _tokenSeq[first];
                var (group, _, local) = _cache!.Layer(_layer);
                var stream = group.StreamOf(seq);
                var view = new KvLayerView(stream.KRow(local, 0), stream.KRowBytes[local], stream.TypeK,
                    stream.VRow(local, 0), stream.VRowBytes[local], stream.TypeV);
                int g = _hp.GroupSize;
                long qStride = (long)_hp.HeadCount * _hp.HeadDimK, oStride = (long)_hp.HeadCount * _hp.HeadDimV;
                float* q = _q.Pointer + first * qStride + (long)kvHead * g * _hp.HeadDimK;
                float* o = _attn.Pointer + first * oStride + (long)kvHead * g * _hp.HeadDimV;
                float* scratch = _attnScratch.Pointer + thread * AttentionScratchFloats;
                int* from = stackalloc int[FlashAttention.MaxTokens];
                int* to = stackalloc int[FlashAttention.MaxTokens];
                for (int t = 0; t < count; t++) (from[t], to[t]) = group.VisibleRange(seq, _tokenPos[first + t]);
                FlashAttention.Compute(q, qStride, count, g, _hp.HeadDimK, _hp.HeadDimV, view, kvHead, group.SequenceCells(seq),
                    from, to, _model.AttentionScale, o, oStride, scratch);
                break;
            }
            case Operation.SwiGlu:
            {
                long off = (long)index * _hp.FeedForwardLength;
                SwiGlu.Apply(_gate.Pointer + off, _up.Pointer + off, _gate.Pointer + off, _hp.FeedForwardLength);
                break;
            }
            case Operation.OutputNorm:
                RmsNorm.Apply(_x.Pointer + (long)_outputIndex[index] * d, _model.Weights.OutputNorm, _outHidden.Pointer + (long)index * d, d, _hp.RmsEpsilon);
                break;
        }
    }

    /// <summary>Frees the scratch.</summary>
    public void Dispose()
    {
        if (_self.IsAllocated) _self.Free();
        _matmul.Dispose();
        foreach (var b in new[] { _x, _xn, _q, _k, _v, _attn, _tmp, _gate, _up, _rope, _attnScratch, _outHidden }) b.Dispose();
    }
}
