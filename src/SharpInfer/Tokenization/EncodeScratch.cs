using System.Text;

namespace SharpInfer.Tokenization;

/// <summary>A symbol of a word being merged: a slice of the word, linked to its neighbours.</summary>
internal record struct Symbol(int Start, int Length, int Prev, int Next);

/// <summary>A queued merge of two adjacent symbols, with their lengths when it was queued.</summary>
internal readonly record struct Bigram(int Left, int Right, int LeftLength, int RightLength);

/// <summary>Merge order: lowest rank (or highest score, negated) first, then leftmost.</summary>
internal sealed class BigramOrder : IComparer<(int Rank, int Left)>, IComparer<(float Score, int Left)>
{
    public static readonly BigramOrder Instance = new();

    public int Compare((int Rank, int Left) a, (int Rank, int Left) b) => a.Rank != b.Rank ? a.Rank.CompareTo(b.Rank) : a.Left.CompareTo(b.Left);

    public int Compare((float Score, int Left) a, (float Score, int Left) b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left);
}

/// <summary>
/// The buffers a tokenization call reuses from word to word: code points and pieces, the byte-level word, merge
/// symbols, the merge queues, the rank key, and the special-token fragments. Each thread keeps one between calls
/// (<see cref="Rent"/> / <see cref="Return"/>), so a call allocates little beyond its result; one grown by a huge
/// text is dropped rather than kept.
/// </summary>
internal sealed class EncodeScratch
{
    /// <summary>Largest text (in UTF-16 units) whose buffers a thread keeps for its next call.</summary>
    private const int MaxKeptLength = 1 << 16;

    [ThreadStatic] private static EncodeScratch? t_cached;

    private char[] _word = new char[64];
    private char[] _key = new char[64];
    private Symbol[] _symbols = new Symbol[64];
    private byte[] _utf8 = new byte[64];
    private char[] _escaped = new char[64];
    private int _largest;

    public readonly PreTokenizerScratch PreTokenizer = new();
    public readonly PriorityQueue<Bigram, (int, int)> BpeQueue = new(BigramOrder.Instance);
    public readonly PriorityQueue<Bigram, (float, int)> SpmQueue = new(BigramOrder.Instance);

    /// <summary>The ids of the call.</summary>
    public readonly List<int> Output = new();

    /// <summary>Fragments of the text around special tokens.</summary>
    public readonly List<Fragment> Fragments = new();

    /// <summary>Fragments replacing one being cut.</summary>
    public readonly List<Fragment> Replacement = new();

    /// <summary>The UTF-16 units present in the text, one bit each.</summary>
    public readonly ulong[] PresentChars = new ulong[1024];

    /// <summary>This thread's scratch (taken, so a nested call gets its own).</summary>
    public static EncodeScratch Rent(int textLength)
    {
        var scratch = t_cached ?? new EncodeScratch();
        t_cached = null;
        scratch._largest = Math.Max(scratch._largest, textLength);
        return scratch;
    }

    /// <summary>Gives the scratch back to this thread unless a huge text grew it.</summary>
    public static void Return(EncodeScratch scratch)
    {
        if (scratch._largest <= MaxKeptLength) t_cached = scratch;
    }

    /// <summary>Text with spaces as ▁ (SentencePiece's escape), with one in front when <paramref name="prefixSpace"/> is set.</summary>
    public ReadOnlySpan<char> Escaped(ReadOnlySpan<char> raw, bool prefixSpace)
    {
        int length = raw.Length + (prefixSpace ? 1 : 0);
        if (_escaped.Length < length) _escaped = new char[Math.Max(length, _escaped.Length * 2)];
        var span = _escaped.AsSpan(0, length);
        if (prefixSpace) span[0] = '\u2581';
        raw.Replace(span[(prefixSpace ? 1 : 0)..], ' ', '\u2581');
        return span;
    }

    public Symbol[] Symbols(int count) => _symbols.Length >= count ? _symbols : _symbols = new Symbol[Math.Max(count, _symbols.Length * 2)];

    public Span<char> Key(int length) => (_key.Length >= length ? _key : _key = new char[Math.Max(length, _key.Length * 2)]).AsSpan(0, length);

    /// <summary>The GPT-2 byte characters of a word's UTF-8 encoding.</summary>
    public ReadOnlySpan<char> ByteLevelWord(ReadOnlySpan<int> codePoints)
    {
        int maxBytes = codePoints.Length * 4;
        if (_utf8.Length < maxBytes) _utf8 = new byte[Math.Max(maxBytes, _utf8.Length * 2)];
        if (_word.Length < maxBytes) _word = new char[Math.Max(maxBytes, _word.Length * 2)];
        int n = 0;
        foreach (int cp in codePoints)
        {
            new Rune(cp).TryEncodeToUtf8(_utf8.AsSpan(n), out int written);
            n += written;
        }
        for (int i = 0; i < n; i++) _word[i] = ByteLevelCodec.Encode(_utf8[i]);
        return _word.AsSpan(0, n);
    }
}
