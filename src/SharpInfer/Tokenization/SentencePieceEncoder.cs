namespace SharpInfer.Tokenization;

/// <summary>
/// SentencePiece BPE: start from single characters and repeatedly merge the adjacent pair whose concatenation
/// is the highest-scoring token (leftmost on ties); characters that end up as no token fall back to byte tokens.
/// </summary>
internal sealed class SentencePieceEncoder(Vocabulary vocab)
{
    private struct Symbol
    {
        public int Start;
        public int Length;
        public int Prev;
        public int Next;
    }

    private readonly record struct Bigram(int Left, int Right, int Size);

    private sealed class BigramOrder : IComparer<(float Score, int Left)>
    {
        public static readonly BigramOrder Instance = new();

        // Highest score first; on equal scores the leftmost pair.
        public int Compare((float Score, int Left) a, (float Score, int Left) b) =>
            a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left);
    }

    /// <summary>Encodes already-escaped text (spaces replaced by ▁) and appends the ids.</summary>
    public void Encode(string text, List<int> output)
    {
        if (text.Length == 0) return;
        var symbols = new List<Symbol>(text.Length);
        for (int i = 0; i < text.Length;)
        {
            int len = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            symbols.Add(new Symbol { Start = i, Length = len, Prev = symbols.Count - 1, Next = i + len >= text.Length ? -1 : symbols.Count + 1 });
            i += len;
        }
        var queue = new PriorityQueue<Bigram, (float, int)>(BigramOrder.Instance);
        var span = symbols.ToArray();
        for (int i = 1; i < span.Length; i++) TryAddBigram(text, span, queue, i - 1, i);
        while (queue.TryDequeue(out var bigram, out _))
        {
            ref var left = ref span[bigram.Left];
            ref var right = ref span[bigram.Right];
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Size) continue;
            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0) span[right.Next].Prev = bigram.Left;
            TryAddBigram(text, span, queue, left.Prev, bigram.Left);
            TryAddBigram(text, span, queue, bigram.Left, left.Next);
        }
        for (int i = 0; i != -1; i = span[i].Next)
        {
            var piece = text.AsSpan(span[i].Start, span[i].Length);
            int id = vocab.Find(piece);
            if (id >= 0)
            {
                output.Add(id);
                continue;
            }
            AppendBytes(piece, output);
        }
    }

    private void TryAddBigram(string text, Symbol[] symbols, PriorityQueue<Bigram, (float, int)> queue, int left, int right)
    {
        if (left < 0 || right < 0) return;
        int size = symbols[left].Length + symbols[right].Length;
        int id = vocab.Find(text.AsSpan(symbols[left].Start, size));
        if (id < 0) return;
        queue.Enqueue(new Bigram(left, right, size), (vocab.Scores[id], left));
    }

    /// <summary>Byte fallback: each UTF-8 byte as its &lt;0xNN&gt; token (or the single-byte token, or unknown).</summary>
    private void AppendBytes(ReadOnlySpan<char> piece, List<int> output)
    {
        Span<byte> utf8 = stackalloc byte[piece.Length * 3];
        int count = System.Text.Encoding.UTF8.GetBytes(piece, utf8);
        Span<char> hex = stackalloc char[6];
        foreach (byte b in utf8[..count])
        {
            "<0x".CopyTo(hex);
            hex[3] = "0123456789ABCDEF"[b >> 4];
            hex[4] = "0123456789ABCDEF"[b & 15];
            hex[5] = '>';
            int id = vocab.Find(hex);
            if (id < 0 && b < 0x80) id = vocab.Find(((char)b).ToString());
            if (id < 0) id = vocab.Unk;
            if (id >= 0) output.Add(id);
        }
    }
}
