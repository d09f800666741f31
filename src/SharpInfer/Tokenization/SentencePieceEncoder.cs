namespace SharpInfer.Tokenization;

/// <summary>
/// SentencePiece BPE: start from single characters and repeatedly merge the adjacent pair whose concatenation
/// is the highest-scoring token (leftmost on ties); characters that end up as no token fall back to byte tokens.
/// </summary>
internal sealed class SentencePieceEncoder(Vocabulary vocab)
{
    /// <summary>
    /// Encodes plain text (no special tokens in it): spaces become ▁, with one more in front when
    /// <paramref name="prefixSpace"/> is set; the ids are appended.
    /// </summary>
    public void Encode(ReadOnlySpan<char> raw, bool prefixSpace, List<int> output, EncodeScratch scratch)
    {
        var text = scratch.Escaped(raw, prefixSpace);
        if (text.Length == 0) return;
        var symbols = scratch.Symbols(text.Length);
        int count = 0;
        for (int i = 0; i < text.Length;)
        {
            int len = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            symbols[count] = new Symbol(i, len, count - 1, i + len >= text.Length ? -1 : count + 1);
            count++;
            i += len;
        }
        var queue = scratch.SpmQueue;
        queue.Clear();
        for (int i = 1; i < count; i++) TryAddBigram(text, symbols, queue, i - 1, i);
        while (queue.TryDequeue(out var bigram, out _))
        {
            ref var left = ref symbols[bigram.Left];
            ref var right = ref symbols[bigram.Right];
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.LeftLength + bigram.RightLength) continue;
            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0) symbols[right.Next].Prev = bigram.Left;
            TryAddBigram(text, symbols, queue, left.Prev, bigram.Left);
            TryAddBigram(text, symbols, queue, bigram.Left, left.Next);
        }
        for (int i = 0; i != -1; i = symbols[i].Next)
        {
            var piece = text.Slice(symbols[i].Start, symbols[i].Length);
            int id = vocab.Find(piece);
            if (id >= 0) output.Add(id);
            else AppendBytes(piece, output);
        }
    }

    private void TryAddBigram(ReadOnlySpan<char> text, Symbol[] symbols, PriorityQueue<Bigram, (float, int)> queue, int left, int right)
    {
        if (left < 0 || right < 0) return;
        int id = vocab.Find(text.Slice(symbols[left].Start, symbols[left].Length + symbols[right].Length));
        if (id < 0) return;
        // The pair is stale once the two lengths no longer add up to its size (llama.cpp's test).
        queue.Enqueue(new Bigram(left, right, symbols[left].Length, symbols[right].Length), (vocab.Scores[id], left));
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
            if (id < 0 && b < 0x80) id = vocab.Find([(char)b]);
            if (id < 0) id = vocab.Unk;
            if (id >= 0) output.Add(id);
        }
    }
}
