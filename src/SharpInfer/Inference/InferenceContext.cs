using SharpInfer.KvCache;
using SharpInfer.Models;
using SharpInfer.Tensors;
using SharpInfer.Threading;

namespace SharpInfer.Inference;

/// <summary>
/// Evaluates batches of tokens against a model: owns the KV cache, the compute threads, the forward-pass
/// scratch and the logits of the last batch. One context serves up to <see cref="ContextOptions.MaxSequences"/>
/// independent sequences. Not thread-safe: one Decode at a time.
/// </summary>
public sealed unsafe class InferenceContext : IDisposable
{
    private readonly ForwardPass _pass;
    private readonly int[] _primary, _outputs;
    private readonly KvPlacement _placement;
    private NativeBuffer<float> _logits;
    private NativeBuffer<float>? _hidden;
    private bool _lastWasHidden;
    private int[] _outputRowOfToken = [];
    private int _outputCount;

    /// <summary>Creates a context over <paramref name="model"/> (KV cache, scratch, threads).</summary>
    public InferenceContext(Model model, ContextOptions? options = null)
    {
        options ??= new ContextOptions();
        Model = model;
        var spec = model.Spec;
        int ctx = options.ContextSize > 0 ? options.ContextSize : Math.Min(spec.TrainingContext, 4096);
        if (options.MicroBatchSize < 1) throw new ArgumentException($"micro-batch size must be positive (got {options.MicroBatchSize})");
        Options = options with { ContextSize = ctx };
        ContextMemory.EnsureFits(model, Options);
        Pool = new ComputePool(options.ResolvedThreads);
        try
        {
            int ubatch = Math.Min(options.MicroBatchSize, ctx);
            Kv = new KvCacheSet(new KvCacheOptions
            {
                Cells = ctx,
                TypeK = options.TypeK,
                TypeV = options.TypeV,
                MaxSequences = options.MaxSequences,
                Unified = options.UnifiedKv,
                RecycleWindowCells = !options.SwaFull,
            }, model.Network.KvLayout(ctx, options.Mla), ubatch);
            _pass = new ForwardPass(model.Network, ubatch, ubatch, Pool, ctx, options.Mla);
            _placement = new KvPlacement(Kv.Groups.Count, ctx);
            _primary = new int[ubatch];
            _outputs = new int[ubatch];
            _logits = new NativeBuffer<float>((long)Math.Max(1, options.MaxSequences) * spec.VocabSize);
        }
        catch
        {
            _pass?.Dispose();
            Kv?.Dispose();
            Pool.Dispose();
            throw;
        }
    }

    /// <summary>The model.</summary>
    public Model Model { get; }

    /// <summary>Options in effect (context size resolved).</summary>
    public ContextOptions Options { get; }

    /// <summary>The KV cache.</summary>
    public KvCacheSet Kv { get; }

    /// <summary>The compute threads.</summary>
    public ComputePool Pool { get; }

    /// <summary>Which experts this context's passes chose (null for a model without experts).</summary>
    public ExpertUsage? Experts => _pass.Experts;

    /// <summary>
    /// Where a cell-occupancy map is printed after every <see cref="Decode"/> (null: nowhere). Defaults to standard
    /// error when the environment variable SHARPINFER_KV_DEBUG is 1.
    /// </summary>
    public TextWriter? KvDebugWriter { get; set; } = Environment.GetEnvironmentVariable("SHARPINFER_KV_DEBUG") == "1" ? Console.Error : null;

    private long _step;

    /// <summary>Identity written into saved states (architecture and weights fingerprint).</summary>
    public KvStateIdentity StateIdentity => _identity ??= new KvStateIdentity(Model.Architecture, Model.Fingerprint());

    private KvStateIdentity? _identity;

    /// <summary>Saves one sequence (or the whole cache when <paramref name="seq"/> is −1), optionally with the tokens it holds.</summary>
    public void SaveState(Stream output, int seq = -1, ReadOnlySpan<int> tokens = default) => KvState.Save(Kv, output, StateIdentity, seq, tokens);

    /// <summary>Restores a saved state; see <see cref="KvState.Restore"/>. The cache is unchanged when this throws.</summary>
    public KvState.RestoreResult LoadState(Stream input, int seq = -1) => KvState.Restore(Kv, input, StateIdentity, seq);

    /// <summary>Vocabulary size (length of a logits row).</summary>
    public int VocabSize => Model.Spec.VocabSize;

    /// <summary>Bytes of scratch memory (forward pass and logits), besides the KV cache.</summary>
    public long ScratchBytes => _pass.ScratchBytes + _logits.ByteSize;

    /// <summary>
    /// Evaluates a batch. It is checked first that every micro-batch will find cells (atomically: when the cache cannot
    /// take them, <see cref="KvCacheFullException"/> is thrown and nothing changes); then each micro-batch claims its
    /// cells and runs, so sliding-window caches recycle what earlier micro-batches pushed out of every window (a prompt
    /// of any length fits a window cache of window + micro-batch cells). Logits of the tokens that asked for them are
    /// available through <see cref="GetLogits"/> until the next call.
    /// </summary>
    public void Decode(Batch batch) => Evaluate(batch, hidden: false);

    /// <summary>
    /// Evaluates a batch exactly as <see cref="Decode"/> does (the cache is filled the same way), but the tokens that
    /// ask for output get their final-normed hidden state instead of logits: <see cref="EmbeddingLength"/> floats each,
    /// read with <see cref="GetOutputHidden"/> until the next call. This is what embeddings are pooled from.
    /// </summary>
    public void DecodeHidden(Batch batch) => Evaluate(batch, hidden: true);

    /// <summary>Width of a hidden-state row (the model's embedding length).</summary>
    public int EmbeddingLength => Model.Spec.EmbeddingLength;

    private void Evaluate(Batch batch, bool hidden)
    {
        int n = batch.Count;
        if (n == 0) return;
        Validate(batch);
        if (n > _placement.Capacity) throw new KvCacheFullException(n, Kv.Capacity - Kv.Used, Kv.Capacity);
        if (Kv.HasPendingShift) Kv.ApplyKShift(Pool);

        var view = new UBatchView(batch.Positions, batch.SeqStart, batch.SeqCount, batch.SeqIds);
        int ubatch = _pass.MaxTokens;
        // One micro-batch reserves atomically by itself; several are dry-run first so none can fail half-way.
        if (n > ubatch) Kv.CheckFits(view, ubatch);

        EnsureOutputs(batch.OutputCount, n, hidden);
        int width = hidden ? EmbeddingLength : VocabSize;
        float* output = hidden ? _hidden!.Pointer : _logits.Pointer;
        int outputRow = 0;
        for (int start = 0; start < n; start += ubatch)
        {
            int count = Math.Min(ubatch, n - start);
            Kv.Reserve(view.Slice(start, count), _placement, start);
            int outs = 0;
            for (int i = 0; i < count; i++)
            {
                _primary[i] = batch.SeqIds[batch.SeqStart[start + i]];
                if (batch.Logits[start + i]) _outputs[outs++] = i;
            }
            var fb = new ForwardBatch(
                batch.Tokens.Slice(start, count),
                batch.Positions.Slice(start, count),
                _primary.AsSpan(0, count),
                _placement,
                start,
                _outputs.AsSpan(0, outs));
            float* rows = output + (long)outputRow * width;
            if (hidden) _pass.RunHidden(fb, Kv, rows);
            else _pass.Run(fb, Kv, rows);
            LogitsGuard.Check(rows, width, _outputs.AsSpan(0, outs), batch.Positions.Slice(start, count), _primary.AsSpan(0, count), hidden ? "hidden states" : "logits");
            outputRow += outs;
        }
        _outputCount = batch.OutputCount;
        _lastWasHidden = hidden;
        int row = 0;
        for (int i = 0; i < n; i++) _outputRowOfToken[i] = batch.Logits[i] ? row++ : -1;
        _step++;
        if (KvDebugWriter is { } debug) debug.Write(KvDebugMap.Render(Kv, _step));
    }

    /// <summary>Names of the forward-pass phases, in the order of <see cref="PhaseTicks"/>.</summary>
    public static IReadOnlyList<string> PhaseNames => ForwardPass.PhaseNames;

    /// <summary>Stopwatch ticks spent per forward-pass phase (names in <see cref="PhaseNames"/>).</summary>
    public ReadOnlySpan<long> PhaseTicks => _pass.PhaseTicks;

    /// <summary>Zeroes <see cref="PhaseTicks"/>.</summary>
    public void ResetPhaseTicks() => _pass.ResetPhaseTicks();

    /// <summary>Logits of token <paramref name="batchIndex"/> of the last batch (which must have asked for them).</summary>
    public ReadOnlySpan<float> GetLogits(int batchIndex)
    {
        if (_lastWasHidden) throw new InvalidOperationException("the last batch was evaluated for hidden states (DecodeHidden), not logits");
        if ((uint)batchIndex >= (uint)_outputRowOfToken.Length || _outputRowOfToken[batchIndex] < 0)
        {
            throw new InvalidOperationException($"no logits for batch index {batchIndex}: the token did not ask for them");
        }
        return new ReadOnlySpan<float>(_logits.Pointer + (long)_outputRowOfToken[batchIndex] * VocabSize, VocabSize);
    }

    /// <summary>Logits of the <paramref name="output"/>-th requested token of the last batch, in batch order.</summary>
    public ReadOnlySpan<float> GetOutputLogits(int output)
    {
        if (_lastWasHidden) throw new InvalidOperationException("the last batch was evaluated for hidden states (DecodeHidden), not logits");
        if ((uint)output >= (uint)_outputCount) throw new ArgumentOutOfRangeException(nameof(output), $"the last batch produced {_outputCount} logit rows");
        return new ReadOnlySpan<float>(_logits.Pointer + (long)output * VocabSize, VocabSize);
    }

    /// <summary>
    /// The final-normed hidden state of the <paramref name="output"/>-th requested token of the last batch, which
    /// must have been evaluated with <see cref="DecodeHidden"/>.
    /// </summary>
    public ReadOnlySpan<float> GetOutputHidden(int output)
    {
        if (!_lastWasHidden) throw new InvalidOperationException("the last batch was evaluated for logits (Decode), not hidden states");
        if ((uint)output >= (uint)_outputCount) throw new ArgumentOutOfRangeException(nameof(output), $"the last batch produced {_outputCount} hidden rows");
        return new ReadOnlySpan<float>(_hidden!.Pointer + (long)output * EmbeddingLength, EmbeddingLength);
    }

    private void EnsureOutputs(int outputs, int tokens, bool hidden)
    {
        if (hidden)
        {
            // Allocated on first use: contexts that only generate never hold it.
            long floats = Math.Max(1L, outputs) * EmbeddingLength;
            if (_hidden is null || floats > _hidden.Length)
            {
                _hidden?.Dispose();
                _hidden = new NativeBuffer<float>(floats);
            }
        }
        else if ((long)outputs * VocabSize > _logits.Length)
        {
            _logits.Dispose();
            _logits = new NativeBuffer<float>((long)outputs * VocabSize);
        }
        if (_outputRowOfToken.Length < tokens) _outputRowOfToken = new int[Math.Max(tokens, _outputRowOfToken.Length * 2)];
        Array.Fill(_outputRowOfToken, -1);
    }

    private void Validate(Batch batch)
    {
        int vocab = VocabSize;
        var tokens = batch.Tokens;
        var positions = batch.Positions;
        Span<int> last = stackalloc int[KvCells.MaxSequences];
        last.Fill(int.MinValue);
        for (int i = 0; i < batch.Count; i++)
        {
            if ((uint)tokens[i] >= (uint)vocab) throw new ArgumentException($"token id {tokens[i]} at batch index {i} is outside the vocabulary (0..{vocab - 1})");
            if (positions[i] < 0) throw new ArgumentException($"position {positions[i]} at batch index {i} is negative");
            foreach (int seq in batch.SequencesAt(i))
            {
                if ((uint)seq >= (uint)Options.MaxSequences) throw new ArgumentException($"sequence id {seq} at batch index {i} is outside 0..{Options.MaxSequences - 1}");
                bool first = last[seq] == int.MinValue;
                int floor = first ? Kv.SeqPosMax(seq) : last[seq];
                if (positions[i] <= floor)
                {
                    throw new ArgumentException($"position {positions[i]} of sequence {seq} at batch index {i} does not follow its last position {floor}; positions of a sequence must increase (remove cached positions first)");
                }
                // Later tokens of the sequence see windows that start higher: the first one decides.
                if (first && !Kv.WindowIsWhole(seq, positions[i]))
                {
                    throw new KvWindowRecycledException(seq, positions[i], Kv.ResumePosition(seq));
                }
                last[seq] = positions[i];
            }
        }
    }

    /// <summary>Frees the cache, scratch and threads.</summary>
    public void Dispose()
    {
        _pass.Dispose();
        Kv.Dispose();
        _logits.Dispose();
        _hidden?.Dispose();
        Pool.Dispose();
    }
}

/// <summary>Context creation as a method of the model, for callers that read better that way.</summary>
public static class ModelContextExtensions
{
    /// <summary>Creates an evaluation context (KV cache, scratch, threads) over <paramref name="model"/>.</summary>
    public static InferenceContext CreateContext(this Model model, ContextOptions? options = null) => new(model, options);
}
