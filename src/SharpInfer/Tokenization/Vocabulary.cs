using SharpInfer.Gguf;

namespace SharpInfer.Tokenization;

/// <summary>
/// A tokenizer vocabulary read from <c>tokenizer.ggml.*</c> metadata: token texts, scores, attributes, merges,
/// special ids and the behaviour flags (BOS/EOS insertion, space prefix, clean-up), with llama.cpp's defaults.
/// </summary>
public sealed class Vocabulary
{
    /// <summary>Marks an absent special token.</summary>
    public const int None = -1;

    private readonly Dictionary<string, int> _tokenToId;
    private readonly HashSet<int> _endOfGeneration = new();
    private readonly List<string> _warnings = new();

    internal Vocabulary(VocabularyKind kind, string[] texts, float[] scores, TokenAttributes[] attributes)
    {
        Kind = kind;
        Texts = texts;
        Scores = scores;
        Attributes = attributes;
        _tokenToId = new Dictionary<string, int>(texts.Length, StringComparer.Ordinal);
        for (int i = 0; i < texts.Length; i++)
        {
            if (!_tokenToId.TryAdd(texts[i], i))
            {
                _warnings.Add($"duplicate token text at id {i} (first at {_tokenToId[texts[i]]}); the first is used");
            }
            MaxTokenLength = Math.Max(MaxTokenLength, texts[i].Length);
        }
        Lookup = _tokenToId.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The algorithm.</summary>
    public VocabularyKind Kind { get; }

    /// <summary>Number of tokens.</summary>
    public int Count => Texts.Length;

    /// <summary>Token texts as stored (SentencePiece uses ▁ for spaces; byte-level BPE uses GPT-2 byte characters).</summary>
    internal string[] Texts { get; }

    /// <summary>SentencePiece merge scores.</summary>
    internal float[] Scores { get; }

    /// <summary>Token attributes.</summary>
    internal TokenAttributes[] Attributes { get; }

    /// <summary>Span lookup of token ids by text (no allocation).</summary>
    internal Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }

    /// <summary>BPE merge ranks keyed by "left\0right".</summary>
    internal Dictionary<string, int>? MergeRanks { get; set; }

    /// <summary>Longest token text, in UTF-16 units.</summary>
    internal int MaxTokenLength { get; }

    /// <summary>The pre-tokenizer name (<c>tokenizer.ggml.pre</c>) for BPE vocabularies (<c>default</c> when absent).</summary>
    public string? PreTokenizerName { get; internal set; }

    /// <summary>The split patterns and flags of a BPE vocabulary's pre-tokenizer.</summary>
    internal PreTokenizerFamily? PreTokenizerFamily { get; set; }

    /// <summary>Beginning-of-sequence token, or <see cref="None"/>.</summary>
    public int Bos { get; internal set; } = None;
    /// <summary>End-of-sequence token, or <see cref="None"/>.</summary>
    public int Eos { get; internal set; } = None;
    /// <summary>End-of-turn token, or <see cref="None"/>.</summary>
    public int Eot { get; internal set; } = None;
    /// <summary>End-of-message token, or <see cref="None"/>.</summary>
    public int Eom { get; internal set; } = None;
    /// <summary>Unknown token, or <see cref="None"/>.</summary>
    public int Unk { get; internal set; } = None;
    /// <summary>Separator token, or <see cref="None"/>.</summary>
    public int Sep { get; internal set; } = None;
    /// <summary>Padding token, or <see cref="None"/>.</summary>
    public int Pad { get; internal set; } = None;
    /// <summary>Mask token, or <see cref="None"/>.</summary>
    public int Mask { get; internal set; } = None;
    /// <summary>Newline token, or <see cref="None"/>.</summary>
    public int Newline { get; internal set; } = None;
    /// <summary>Fill-in-the-middle prefix token, or <see cref="None"/>.</summary>
    public int FimPrefix { get; internal set; } = None;
    /// <summary>Fill-in-the-middle suffix token, or <see cref="None"/>.</summary>
    public int FimSuffix { get; internal set; } = None;
    /// <summary>Fill-in-the-middle middle token, or <see cref="None"/>.</summary>
    public int FimMiddle { get; internal set; } = None;
    /// <summary>Fill-in-the-middle pad token, or <see cref="None"/>.</summary>
    public int FimPad { get; internal set; } = None;
    /// <summary>Fill-in-the-middle repository token, or <see cref="None"/>.</summary>
    public int FimRepo { get; internal set; } = None;
    /// <summary>Fill-in-the-middle file separator token, or <see cref="None"/>.</summary>
    public int FimSeparator { get; internal set; } = None;

    /// <summary>Whether <c>Tokenize(addSpecial: true)</c> prepends BOS.</summary>
    public bool AddBos { get; internal set; }
    /// <summary>Whether <c>Tokenize(addSpecial: true)</c> appends EOS.</summary>
    public bool AddEos { get; internal set; }
    /// <summary>SentencePiece: a space is prepended to text at the start and after special tokens.</summary>
    public bool AddSpacePrefix { get; internal set; }
    /// <summary>BPE detokenization removes spaces before punctuation and inside contractions.</summary>
    public bool CleanSpaces { get; internal set; }
    /// <summary>BPE: a word that is itself a token is emitted whole, without merging.</summary>
    public bool IgnoreMerges { get; internal set; }

    /// <summary>Tokens that end generation (EOS, EOT, EOM and their relatives).</summary>
    public IReadOnlySet<int> EndOfGeneration => _endOfGeneration;

    internal HashSet<int> EndOfGenerationSet => _endOfGeneration;

    /// <summary>Problems found while loading that did not stop it.</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    internal void Warn(string message) => _warnings.Add(message);

    /// <summary>The stored text of a token.</summary>
    public string TokenText(int id) => Texts[id];

    /// <summary>The attributes of a token.</summary>
    public TokenAttributes AttributesOf(int id) => Attributes[id];

    /// <summary>The SentencePiece score of a token.</summary>
    public float ScoreOf(int id) => Scores[id];

    /// <summary>The id of a token text, or <see cref="None"/>.</summary>
    public int Find(string text) => _tokenToId.TryGetValue(text, out int id) ? id : None;

    /// <summary>The id of a token text span, or <see cref="None"/>.</summary>
    public int Find(ReadOnlySpan<char> text) => Lookup.TryGetValue(text, out int id) ? id : None;

    /// <summary>Whether a token ends generation.</summary>
    public bool IsEndOfGeneration(int id) => _endOfGeneration.Contains(id);

    /// <summary>Whether a token is a control token.</summary>
    public bool IsControl(int id) => (Attributes[id] & TokenAttributes.Control) != 0;

    /// <summary>Reads the vocabulary from GGUF metadata.</summary>
    /// <exception cref="InvalidDataException">The tokenizer metadata is missing or malformed.</exception>
    public static Vocabulary FromGguf(GgufMetadata metadata) => VocabularyLoader.Load(metadata);
}
