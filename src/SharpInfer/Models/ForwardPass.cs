using SharpInfer.Kernels;
using SharpInfer.KvCache;
using SharpInfer.Models.Parts;
using SharpInfer.Threading;

namespace SharpInfer.Models;

/// <summary>
/// Runs any supported network over a micro-batch: embedding (scaled where the family says), then per block
/// RMSNorm → attention part → residual → RMSNorm → feed-forward part → residual, then the final norm, the logits of
/// the requested tokens and the final softcap where there is one. The parts do the family-specific work; this loop
/// and its <see cref="PassState"/> are shared by all. Every buffer is sized once, so a pass allocates nothing.
/// </summary>
public sealed unsafe class ForwardPass : IDisposable
{
    private readonly Network _network;
    private readonly PassState _s;
    private readonly Stages _stages;
    private readonly Kernels.RopeParameters[] _ropes;

    /// <summary>
    /// Allocates scratch for up to <paramref name="maxTokens"/> tokens and <paramref name="maxOutputs"/> logit rows,
    /// with the RoPE of a context of <paramref name="contextSize"/> cells; latent attention layers run as
    /// <paramref name="mla"/> says (the cache passed to <see cref="Run"/> must be laid out for it, see
    /// <see cref="Network.KvLayout"/>).
    /// </summary>
    public ForwardPass(Network network, int maxTokens, int maxOutputs, ComputePool pool, int contextSize, MlaMode mla = MlaMode.Absorb)
    {
        _network = network;
        _ropes = network.RopeSlots(contextSize);
        _s = new PassState(network, maxTokens, maxOutputs, pool, mla);
        _stages = new Stages(this);
    }

    /// <summary>
    /// Bytes of scratch a pass over <paramref name="spec"/> would hold, without allocating (its buffers are laid out by
    /// the same code that allocates them).
    /// </summary>
    public static long ScratchBytesFor(ModelSpec spec, int maxTokens, int maxOutputs, int threads, MlaMode mla = MlaMode.Absorb) =>
        ScratchLayout.For(spec, maxTokens, maxOutputs, threads, mla).Bytes;

    /// <summary>How latent attention layers run.</summary>
    public MlaMode Mla => _s.Mla;

    /// <summary>Which experts the passes chose (null for a model without experts).</summary>
    public ExpertUsage? Experts => _s.Experts;

    /// <summary>Largest micro-batch.</summary>
    public int MaxTokens => _s.MaxTokens;

    /// <summary>Most logit rows per pass.</summary>
    public int MaxOutputs => _s.MaxOutputs;

    /// <summary>Bytes of scratch held.</summary>
    public long ScratchBytes => _s.ScratchBytes;

    /// <summary>Names of the phases <see cref="PhaseTicks"/> accumulates, in order.</summary>
    public static IReadOnlyList<string> PhaseNames => PassState.PhaseNames;

    /// <summary>Stopwatch ticks spent in each phase since creation (or <see cref="ResetPhaseTicks"/>), summed over passes.</summary>
    public ReadOnlySpan<long> PhaseTicks => _s.PhaseTicks;

    /// <summary>Zeroes <see cref="PhaseTicks"/>.</summary>
    public void ResetPhaseTicks() => Array.Clear(_s.PhaseTicks);

    /// <summary>
    /// Runs the pass. The batch's cells must already be reserved in <paramref name="cache"/> (so tokens of one
    /// sequence in the same batch see each other causally). Logits of the requested tokens go to
    /// <paramref name="logits"/>, one row of VocabSize per output.
    /// </summary>
    public void Run(in ForwardBatch batch, KvCacheSet cache, float* logits)
    {
        int outputs = RunBlocks(batch, cache);
        if (outputs == 0) return;
        var s = _s;
        NormOutputs(outputs, s.OutHidden.Pointer);
        s.MatMul.Multiply(s.Pool, _network.Output, s.OutHidden.Pointer, outputs, logits);
        if (_network.Spec.FinalSoftcap > 0)
        {
            _finalLogits = logits;
            s.Parallel(_stages, Stages.FinalSoftcap, outputs);
        }
        s.Phase(PassState.PhaseLogits);
    }

    /// <summary>
    /// Runs the pass like <see cref="Run"/> but stops before the output matrix: the final-normed hidden states of the
    /// requested tokens (what embeddings are pooled from) go to <paramref name="hidden"/>, one row of
    /// EmbeddingLength per output.
    /// </summary>
    public void RunHidden(in ForwardBatch batch, KvCacheSet cache, float* hidden)
    {
        int outputs = RunBlocks(batch, cache);
        if (outputs > 0) NormOutputs(outputs, hidden);
    }

    /// <summary>Embeds the batch and runs every block over it; returns the number of output rows asked for.</summary>
    private int RunBlocks(in ForwardBatch batch, KvCacheSet cache)
    {
        int n = batch.Tokens.Length;
        if (n == 0) return 0;
        if (n > MaxTokens) throw new ArgumentException($"micro-batch of {n} tokens exceeds the {MaxTokens} this pass was sized for");
        if (batch.Outputs.Length > MaxOutputs) throw new ArgumentException($"{batch.Outputs.Length} output rows exceed the {MaxOutputs} this pass was sized for");
        var s = _s;
        s.Cache = cache;
        s.Placement = batch.Placement;
        s.PlacementOffset = batch.PlacementOffset;
        s.Tokens = n;
        batch.Sequences.CopyTo(s.TokenSeq);
        batch.Positions.CopyTo(s.TokenPos);
        batch.Tokens.CopyTo(s.TokenIds);
        s.StartClock();
        PlanAttentionBlocks(n);
        s.Parallel(_stages, Stages.Embed, n);
        s.Phase(PassState.PhaseEmbed);

        for (int l = 0; l < _network.Spec.LayerCount; l++)
        {
            s.Layer = l;
            s.Parallel(_stages, Stages.AttentionNorm, n);
            s.Phase(PassState.PhaseNorms);
            _network.AttentionParts[l].Run(s);
            AddResidual(n);
            s.Parallel(_stages, Stages.FeedForwardNorm, n);
            s.Phase(PassState.PhaseNorms);
            _network.FeedForwardParts[l].Run(s);
            AddResidual(n);
        }
        batch.Outputs.CopyTo(s.OutputIndex);
        return batch.Outputs.Length;
    }

    /// <summary>The final norm of the output tokens' residual rows, written to <paramref name="destination"/>.</summary>
    private void NormOutputs(int outputs, float* destination)
    {
        _normedOutputs = destination;
        _s.Parallel(_stages, Stages.OutputNorm, outputs);
        _s.Phase(PassState.PhaseNorms);
    }

    private float* _normedOutputs;
    private float* _finalLogits;

    private void AddResidual(int n)
    {
        int d = _s.Embedding;
        for (int i = 0; i < n; i++) Elementwise.Add(_s.X.Pointer + (long)i * d, _s.Tmp.Pointer + (long)i * d, d);
        _s.Phase(PassState.PhaseResidual);
    }

    /// <summary>
    /// Groups consecutive tokens of the same sequence into attention blocks of at most
    /// <see cref="FlashAttention.MaxTokens"/>, so each block widens a cache tile once for all its tokens.
    /// </summary>
    private void PlanAttentionBlocks(int n)
    {
        var s = _s;
        s.Blocks = 0;
        for (int i = 0; i < n;)
        {
            int j = i + 1;
            while (j < n && j - i < FlashAttention.MaxTokens && s.TokenSeq[j] == s.TokenSeq[i]) j++;
            s.BlockFirst[s.Blocks] = i;
            s.BlockCount[s.Blocks] = j - i;
            s.Blocks++;
            i = j;
        }
    }

    /// <summary>The loop's own parallel work: embedding, the block input norms, the final norm and softcap.</summary>
    private sealed class Stages(ForwardPass pass) : PassStage
    {
        public const int Embed = 0, AttentionNorm = 1, FeedForwardNorm = 2, OutputNorm = 3, FinalSoftcap = 4;

        public override void Execute(PassState s, int op, int index, int thread)
        {
            var network = pass._network;
            var spec = network.Spec;
            int d = s.Embedding;
            switch (op)
            {
                case Embed:
                {
                    int token = s.TokenIds[index];
                    if ((uint)token >= (uint)spec.VocabSize) throw new ArgumentOutOfRangeException(nameof(index), $"token id {token} is outside the vocabulary of {spec.VocabSize}");
                    float* x = s.X.Pointer + (long)index * d;
                    network.TokenEmbedding.DequantizeRow(token, x);
                    if (spec.EmbeddingScale != 1f) Elementwise.Scale(x, spec.EmbeddingScale, d);
                    for (int r = 0; r < pass._ropes.Length; r++) Rope.BuildCache(pass._ropes[r], s.TokenPos[index], s.RopeCache(index, r));
                    break;
                }
                case AttentionNorm:
                    RmsNorm.Apply(s.X.Pointer + (long)index * d, (float*)network.AttentionNorms[s.Layer], s.Xn.Pointer + (long)index * d, d, spec.RmsEpsilon);
                    break;
                case FeedForwardNorm:
                    RmsNorm.Apply(s.X.Pointer + (long)index * d, (float*)network.FeedForwardNorms[s.Layer], s.Xn.Pointer + (long)index * d, d, spec.RmsEpsilon);
                    break;
                case OutputNorm:
                    RmsNorm.Apply(s.X.Pointer + (long)s.OutputIndex[index] * d, network.OutputNorm, pass._normedOutputs + (long)index * d, d, spec.RmsEpsilon);
                    break;
                case FinalSoftcap:
                    Softcap.Apply(pass._finalLogits + (long)index * spec.VocabSize, spec.VocabSize, spec.FinalSoftcap);
                    break;
            }
        }
    }

    /// <summary>Frees the scratch.</summary>
    public void Dispose() => _s.Dispose();
}
