namespace SharpInfer.Tokenization;

/// <summary>
/// Byte-level BPE: the pre-tokenizer splits text into words, each word becomes GPT-2 byte characters, and
/// adjacent symbols are merged by merge rank (lowest first, leftmost on ties) until no ranked pair remains.
/// </summary>
internal sealed class BytePairEncoder(Vocabulary vocab, PreTokenizer preTokenizer)
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _ranks =
        (vocab.MergeRanks ?? throw new InvalidDataException("byte-level BPE needs merges")).GetAlternateLookup<ReadOnlySpan<char>>();

    private struct Symbol
    {
        public int Start;
        public int Length;
        public int Prev;
        public int Next;
    }

    private readonly record struct Bigram(int Left, int Right, int LeftLength, int RightLength);

    private sealed class BigramOrder : IComparer<(int Rank, int Left)>
    {
        public static readonly BigramOrder Instance = new();

        public int Compare((int Rank, int Left) a, (int Rank, int Left) b) =>
            a.Rank != b.Rank ? a.Rank.CompareTo(b.Rank) : a.Left.CompareTo(b.Left);
    }

    public void Encode(string text, List<int> output)
    {
        foreach (string word in preTokenizer.Split(text))
        {
            if (word.Length == 0) continue;
            EncodeWord(ByteLevelCodec.Encode(System.Text.Encoding.UTF8.GetBytes(word)), output);
        }
    }

    private void EncodeWord(string word, List<int> output)
    {
        if (vocab.IgnoreMerges && vocab.Find(word) is var whole && whole >= 0)
        {
            output.Add(whole);
            return;
        }
        // Byte characters are all in the BMP, so every char is one symbol.
        var symbols = new Symbol[word.Length];
        for (int i = 0; i < word.Length; i++) symbols[i] = new Symbol { Start = i, Length = 1, Prev = i - 1, Next = i + 1 < word.Length ? i + 1 : -1 };
        var queue = new PriorityQueue<Bigram, (int, int)>(BigramOrder.Instance);
        Span<char> key = word.Length < 1024 ? stackalloc char[word.Length + 1] : new char[word.Length + 1];
        for (int i = 1; i < symbols.Length; i++) AddBigram(word, symbols, queue, i - 1, i, key);
        while (queue.TryDequeue(out var bigram, out _))
        {
            ref var left = ref symbols[bigram.Left];
            ref var right = ref symbols[bigram.Right];
            if (left.Length == 0 || right.Length == 0 || left.Length != bigram.LeftLength || right.Length != bigram.RightLength) continue;
            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0) symbols[right.Next].Prev = bigram.Left;
            AddBigram(word, symbols, queue, left.Prev, bigram.Left, key);
            AddBigram(word, symbols, queue, bigram.Left, left.Next, key);
        }
        for (int i = 0; i != -1; i = symbols[i].Next)
        {
            var piece = word.AsSpan(symbols[i].Start, symbols[i].Length);
            int id = vocab.Find(piece);
            if (id >= 0)
            {
                output.Add(id);
                continue;
            }
            // No token for the merged text: llama.cpp falls back to single-byte tokens, which only exist for the
            // ASCII byte characters; anything else is dropped.
            foreach (char c in piece)
            {
                if (c >= 0x80) continue;
                int single = vocab.Find(new ReadOnlySpan<char>(in c));
                if (single >= 0) output.Add(single);
            }
        }
    }

    private void AddBigram(string word, Symbol[] symbols, PriorityQueue<Bigram, (int, int)> queue, int left, int right, Span<char> key)
    {
        if (left < 0 || right < 0) return;
        var l = word.AsSpan(symbols[left].Start, symbols[left].Length);
        var r = word.AsSpan(symbols[right].Start, symbols[right].Length);
        l.CopyTo(key);
        key[l.Length] = '\0';
        r.CopyTo(key[(l.Length + 1)..]);
        if (!_ranks.TryGetValue(key[..(l.Length + 1 + r.Length)], out int rank)) return;
        queue.Enqueue(new Bigram(left, right, l.Length, r.Length), (rank, left));
    }
}
