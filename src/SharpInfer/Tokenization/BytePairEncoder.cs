namespace SharpInfer.Tokenization;

/// <summary>
/// Byte-level BPE: the pre-tokenizer splits text into words, each word becomes GPT-2 byte characters, and
/// adjacent symbols are merged by merge rank (lowest first, leftmost on ties) until no ranked pair remains.
/// Immutable; the working buffers of a call live in an <see cref="EncodeScratch"/>.
/// </summary>
internal sealed class BytePairEncoder(Vocabulary vocab, PreTokenizer preTokenizer)
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _ranks =
        (vocab.MergeRanks ?? throw new InvalidDataException("byte-level BPE needs merges")).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Tokenizes plain text (no special tokens in it) and appends the ids.</summary>
    public void Encode(ReadOnlySpan<char> text, List<int> output, EncodeScratch scratch)
    {
        var pre = scratch.PreTokenizer;
        int count = pre.Load(text);
        preTokenizer.Split(pre, count);
        foreach (var (start, length) in pre.Pieces)
        {
            EncodeWord(scratch.ByteLevelWord(pre.CodePoints.AsSpan(start, length)), output, scratch);
        }
    }

    private void EncodeWord(ReadOnlySpan<char> word, List<int> output, EncodeScratch scratch)
    {
        if (vocab.IgnoreMerges && vocab.Find(word) is var whole && whole >= 0)
        {
            output.Add(whole);
            return;
        }
        // Byte characters are all in the BMP, so every char is one symbol.
        var symbols = scratch.Symbols(word.Length);
        for (int i = 0; i < word.Length; i++) symbols[i] = new Symbol(i, 1, i - 1, i + 1 < word.Length ? i + 1 : -1);
        var queue = scratch.BpeQueue;
        queue.Clear();
        var key = scratch.Key(word.Length + 1);
        for (int i = 1; i < word.Length; i++) AddBigram(word, symbols, queue, i - 1, i, key);
        while (queue.TryDequeue(out var bigram, out _))
        {
            ref var left = ref symbols[bigram.Left];
            ref var right = ref symbols[bigram.Right];
            // A pair whose symbols changed since it was queued is stale (a symbol's start never moves).
            if (left.Length == 0 || right.Length == 0 || left.Length != bigram.LeftLength || right.Length != bigram.RightLength) continue;
            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0) symbols[right.Next].Prev = bigram.Left;
            AddBigram(word, symbols, queue, left.Prev, bigram.Left, key);
            AddBigram(word, symbols, queue, bigram.Left, left.Next, key);
        }
        for (int i = 0; i != -1; i = symbols[i].Next) EmitSymbol(word.Slice(symbols[i].Start, symbols[i].Length), output);
    }

    private void EmitSymbol(ReadOnlySpan<char> piece, List<int> output)
    {
        int id = vocab.Find(piece);
        if (id >= 0)
        {
            output.Add(id);
            return;
        }
        // No token for the merged text: llama.cpp looks each UTF-8 byte up as a one-byte string, which only finds
        // the ASCII byte characters; anything else is dropped.
        foreach (char c in piece)
        {
            if (c >= 0x80) continue;
            int single = vocab.Find(new ReadOnlySpan<char>(in c));
            if (single >= 0) output.Add(single);
        }
    }

    private void AddBigram(ReadOnlySpan<char> word, Symbol[] symbols, PriorityQueue<Bigram, (int, int)> queue, int left, int right, Span<char> key)
    {
        if (left < 0 || right < 0) return;
        var l = word.Slice(symbols[left].Start, symbols[left].Length);
        var r = word.Slice(symbols[right].Start, symbols[right].Length);
        l.CopyTo(key);
        key[l.Length] = '\0';
        r.CopyTo(key[(l.Length + 1)..]);
        if (!_ranks.TryGetValue(key[..(l.Length + 1 + r.Length)], out int rank)) return;
        queue.Enqueue(new Bigram(left, right, l.Length, r.Length), (rank, left));
    }
}
