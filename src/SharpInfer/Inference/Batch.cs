namespace SharpInfer.Inference;

/// <summary>
/// Tokens to evaluate in one <see cref="InferenceContext.Decode"/> call: each with a position, one or more
/// sequence ids, and whether its logits are wanted. Reusable: <see cref="Clear"/> and refill, nothing is allocated.
/// </summary>
public sealed class Batch
{
    private readonly int[] _tokens, _positions, _seqStart, _seqCount, _seqIds;
    private readonly bool[] _logits;
    private int _seqUsed;

    /// <summary>Creates a batch for up to <paramref name="capacity"/> tokens with up to <paramref name="maxSequencesPerToken"/> ids each.</summary>
    public Batch(int capacity, int maxSequencesPerToken = 1)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity));
        if (maxSequencesPerToken < 1) throw new ArgumentOutOfRangeException(nameof(maxSequencesPerToken));
        Capacity = capacity;
        _tokens = new int[capacity];
        _positions = new int[capacity];
        _seqStart = new int[capacity];
        _seqCount = new int[capacity];
        _seqIds = new int[capacity * maxSequencesPerToken];
        _logits = new bool[capacity];
    }

    /// <summary>Maximum tokens.</summary>
    public int Capacity { get; }

    /// <summary>Tokens added.</summary>
    public int Count { get; private set; }

    /// <summary>Number of tokens whose logits are requested.</summary>
    public int OutputCount { get; private set; }

    /// <summary>Adds a token of one sequence.</summary>
    public void Add(int token, int position, int sequence, bool logits) => Add(token, position, [sequence], logits);

    /// <summary>Adds a token shared by several sequences (e.g. a prompt that several continuations fork from).</summary>
    public void Add(int token, int position, ReadOnlySpan<int> sequences, bool logits)
    {
        if (Count == Capacity) throw new InvalidOperationException($"the batch is full ({Capacity} tokens)");
        if (sequences.IsEmpty) throw new ArgumentException("a token needs at least one sequence", nameof(sequences));
        if (_seqUsed + sequences.Length > _seqIds.Length) throw new InvalidOperationException("too many sequence ids for this batch");
        _tokens[Count] = token;
        _positions[Count] = position;
        _seqStart[Count] = _seqUsed;
        _seqCount[Count] = sequences.Length;
        sequences.CopyTo(_seqIds.AsSpan(_seqUsed));
        _seqUsed += sequences.Length;
        _logits[Count] = logits;
        if (logits) OutputCount++;
        Count++;
    }

    /// <summary>Empties the batch.</summary>
    public void Clear()
    {
        Count = 0;
        OutputCount = 0;
        _seqUsed = 0;
    }

    /// <summary>Requests (or cancels) the logits of the last token added.</summary>
    public void SetLogits(int index, bool logits)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        if (_logits[index] != logits) OutputCount += logits ? 1 : -1;
        _logits[index] = logits;
    }

    internal ReadOnlySpan<int> Tokens => _tokens.AsSpan(0, Count);
    internal ReadOnlySpan<int> Positions => _positions.AsSpan(0, Count);
    internal ReadOnlySpan<int> SeqStart => _seqStart.AsSpan(0, Count);
    internal ReadOnlySpan<int> SeqCount => _seqCount.AsSpan(0, Count);
    internal ReadOnlySpan<int> SeqIds => _seqIds.AsSpan(0, _seqUsed);
    internal ReadOnlySpan<bool> Logits => _logits.AsSpan(0, Count);

    /// <summary>Token at index <paramref name="i"/>.</summary>
    public int TokenAt(int i) => _tokens[i];

    /// <summary>Position at index <paramref name="i"/>.</summary>
    public int PositionAt(int i) => _positions[i];

    /// <summary>Sequence ids of the token at index <paramref name="i"/>.</summary>
    public ReadOnlySpan<int> SequencesAt(int i) => _seqIds.AsSpan(_seqStart[i], _seqCount[i]);

    /// <summary>Whether logits are requested for index <paramref name="i"/>.</summary>
    public bool WantsLogits(int i) => _logits[i];
}
