using System.Text;
using SharpInfer.Gguf;

namespace SharpInfer.Tokenization;

/// <summary>
/// Text ↔ token ids for a GGUF model's vocabulary, reproducing llama.cpp: special and added tokens are cut out
/// of the text first, the rest goes through SentencePiece or byte-level BPE, and BOS/EOS are added as the model
/// asks. Thread-safe: a call's working buffers belong to its thread.
/// </summary>
public sealed class Tokenizer
{
    private readonly SentencePieceEncoder? _spm;
    private readonly BytePairEncoder? _bpe;
    private readonly SpecialTokenMatcher _specialTokens;
    private readonly byte[][] _pieces;
    private readonly byte[][] _specialPieces;

    /// <summary>Creates a tokenizer for a vocabulary.</summary>
    public Tokenizer(Vocabulary vocabulary)
    {
        Vocabulary = vocabulary;
        if (vocabulary.Kind == VocabularyKind.SentencePiece)
        {
            _spm = new SentencePieceEncoder(vocabulary);
        }
        else
        {
            _bpe = new BytePairEncoder(vocabulary, new PreTokenizer(vocabulary.PreTokenizerFamily ?? PreTokenizerFamilies.Default));
        }
        _specialTokens = new SpecialTokenMatcher(vocabulary);
        _pieces = new byte[vocabulary.Count][];
        _specialPieces = new byte[vocabulary.Count][];
        for (int id = 0; id < vocabulary.Count; id++)
        {
            _specialPieces[id] = BuildPiece(id, special: true);
            // Only control and unknown tokens read differently when special tokens are not rendered.
            bool hidden = (vocabulary.Attributes[id] & (TokenAttributes.Unknown | TokenAttributes.Control)) != 0;
            _pieces[id] = hidden ? [] : _specialPieces[id];
        }
    }

    /// <summary>Reads the tokenizer of a GGUF file.</summary>
    public static Tokenizer FromGguf(GgufFile file) => new(Vocabulary.FromGguf(file.Metadata));

    /// <summary>The vocabulary.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>
    /// Tokenizes a rendered chat prompt as llama-server does (special-token text becomes those tokens, BOS/EOS as the
    /// model asks), but with one BOS where the template wrote it too: the one rule for chat sessions, the server and
    /// the <c>IChatClient</c>.
    /// </summary>
    public int[] TokenizeChatPrompt(string text)
    {
        var tokens = Tokenize(text, addSpecial: true, parseSpecial: true);
        int bos = Vocabulary.Bos;
        return tokens.Length >= 2 && bos >= 0 && tokens[0] == bos && tokens[1] == bos ? tokens[1..] : tokens;
    }

    /// <summary>
    /// Tokenizes text as llama.cpp's <c>llama_tokenize</c> does. <paramref name="addSpecial"/> adds BOS/EOS as the
    /// model's metadata says. Added (user-defined) tokens are always recognised in the text; <paramref name="parseSpecial"/>
    /// also turns the text of control tokens (e.g. <c>&lt;|eot_id|&gt;</c>) into those tokens, where otherwise it stays
    /// plain text. Tokens with the lstrip/rstrip attribute swallow the ASCII whitespace before/after them.
    /// </summary>
    public int[] Tokenize(string text, bool addSpecial = true, bool parseSpecial = false)
    {
        var v = Vocabulary;
        var scratch = EncodeScratch.Rent(text.Length);
        var output = scratch.Output;
        output.Clear();
        if (addSpecial && v.AddBos) output.Add(v.Bos);
        // SentencePiece puts a space in front of the text, and again after every special token.
        bool previousWasSpecial = true;
        foreach (var f in _specialTokens.Partition(text, parseSpecial, scratch))
        {
            if (f.Token >= 0)
            {
                output.Add(f.Token);
                previousWasSpecial = true;
                continue;
            }
            var piece = text.AsSpan(f.Start, f.Length);
            if (_spm is not null) _spm.Encode(piece, v.AddSpacePrefix && previousWasSpecial, output, scratch);
            else _bpe!.Encode(piece, output, scratch);
            previousWasSpecial = false;
        }
        if (addSpecial && v.AddEos) output.Add(v.Eos);
        int[] ids = output.ToArray();
        EncodeScratch.Return(scratch);
        return ids;
    }

    /// <summary>
    /// The bytes a token stands for. Control and unknown tokens are empty unless <paramref name="special"/> is true.
    /// A piece may be part of a multi-byte character: use <see cref="Utf8StreamDecoder"/> to turn a stream into text.
    /// </summary>
    public ReadOnlySpan<byte> TokenToPiece(int id, bool special = false)
    {
        if ((uint)id >= (uint)_pieces.Length) throw new ArgumentOutOfRangeException(nameof(id), $"token {id} is outside the vocabulary of {_pieces.Length}");
        return special ? _specialPieces[id] : _pieces[id];
    }

    private byte[] BuildPiece(int id, bool special)
    {
        var v = Vocabulary;
        var attributes = v.Attributes[id];
        string text = v.Texts[id];
        if (!special && (attributes & (TokenAttributes.Unknown | TokenAttributes.Control)) != 0) return [];
        if ((attributes & (TokenAttributes.Unknown | TokenAttributes.Control | TokenAttributes.UserDefined)) != 0)
        {
            return Encoding.UTF8.GetBytes(text);
        }
        if ((attributes & TokenAttributes.Normal) != 0)
        {
            return v.Kind == VocabularyKind.SentencePiece
                ? Encoding.UTF8.GetBytes(text.Replace('\u2581', ' '))
                : DecodeByteLevel(text);
        }
        if ((attributes & TokenAttributes.Byte) != 0)
        {
            return text.Length == 6 && text.StartsWith("<0x", StringComparison.Ordinal)
                ? [Convert.ToByte(text.Substring(3, 2), 16)]
                : Encoding.UTF8.GetBytes(text);
        }
        return [];
    }

    private static byte[] DecodeByteLevel(string text)
    {
        var bytes = new byte[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            if (!ByteLevelCodec.TryDecode(text[i], out bytes[i])) return DecodeByteLevelWithMarkers(text);
        }
        return bytes;
    }

    /// <summary>A token text with characters that stand for no byte: llama.cpp writes a visible marker for each.</summary>
    private static byte[] DecodeByteLevelWithMarkers(string text)
    {
        var bytes = new List<byte>(text.Length * 2);
        foreach (int cp in UnicodeFlags.CodePoints(text))
        {
            if (cp < 0x10000 && ByteLevelCodec.TryDecode((char)cp, out byte b))
            {
                bytes.Add(b);
            }
            else
            {
                var utf8 = Encoding.UTF8.GetBytes(char.ConvertFromUtf32(cp));
                bytes.AddRange(Encoding.UTF8.GetBytes("[UNK_BYTE_0x" + Convert.ToHexStringLower(utf8) + text + "]"));
            }
        }
        return bytes.ToArray();
    }

    /// <summary>
    /// Token ids back to text. <paramref name="removeSpecial"/> drops a leading BOS and trailing EOS that the model
    /// adds itself; <paramref name="unparseSpecial"/> renders control tokens as their text.
    /// </summary>
    public string Detokenize(ReadOnlySpan<int> tokens, bool removeSpecial = false, bool unparseSpecial = false, bool? cleanSpaces = null)
        => Encoding.UTF8.GetString(DetokenizeBytes(tokens, removeSpecial, unparseSpecial, cleanSpaces));

    /// <summary>Like <see cref="Detokenize"/> but returns the raw bytes.</summary>
    public byte[] DetokenizeBytes(ReadOnlySpan<int> tokens, bool removeSpecial = false, bool unparseSpecial = false, bool? cleanSpaces = null)
    {
        var v = Vocabulary;
        bool removeSpace = v.AddSpacePrefix;
        if (removeSpecial && v.AddBos && tokens.Length > 0 && tokens[0] == v.Bos)
        {
            removeSpace = false;
            tokens = tokens[1..];
        }
        if (removeSpecial && v.AddEos && tokens.Length > 0 && tokens[^1] == v.Eos) tokens = tokens[..^1];
        var bytes = new List<byte>();
        foreach (int id in tokens)
        {
            var piece = TokenToPiece(id, unparseSpecial);
            if (removeSpace && piece.Length > 0 && piece[0] == (byte)' ') piece = piece[1..];
            removeSpace = false;
            foreach (byte b in piece) bytes.Add(b);
        }
        if (cleanSpaces ?? v.CleanSpaces) CleanUpSpaces(bytes);
        return bytes.ToArray();
    }

    /// <summary>GPT-2-style clean-up: " ?" " !" " ." " ," lose their space, " ' " its spaces, and " 's" " 'm" " 're" " 've" theirs.</summary>
    private static void CleanUpSpaces(List<byte> text)
    {
        var pass1 = new List<byte>(text.Count);
        for (int i = 0; i < text.Count; i++)
        {
            byte x = text[i];
            if (i > 0 && text[i - 1] == ' ' && x is (byte)'?' or (byte)'!' or (byte)'.' or (byte)',') pass1.RemoveAt(pass1.Count - 1);
            pass1.Add(x);
        }
        // Pass 2 blanks the space after " ' " in place, so a following quote no longer sees a space before it.
        var source2 = pass1.ToArray();
        var pass2 = new List<byte>(source2.Length);
        for (int i = 0; i < source2.Length; i++)
        {
            byte x = source2[i];
            if (i > 0 && x == '\'' && i + 1 < source2.Length && source2[i - 1] == ' ' && source2[i + 1] == ' ')
            {
                pass2.RemoveAt(pass2.Count - 1);
                source2[i + 1] = 0;
                pass2.Add(x);
                i++;
                continue;
            }
            pass2.Add(x);
        }
        var pass3 = new List<byte>(pass2.Count);
        for (int i = 0; i < pass2.Count; i++)
        {
            byte x = pass2[i];
            if (i > 0 && pass2[i - 1] == ' ' && x == '\'' && i + 1 < pass2.Count)
            {
                byte x1 = pass2[i + 1];
                bool remove = x1 is (byte)'s' or (byte)'m'
                    || (x1 is not ((byte)'t' or (byte)'d') && i + 2 < pass2.Count && (x1 == 'r' && pass2[i + 2] == 'e' || x1 == 'v' && pass2[i + 2] == 'e'));
                if (remove) pass3.RemoveAt(pass3.Count - 1);
            }
            pass3.Add(x);
        }
        text.Clear();
        text.AddRange(pass3);
    }

    /// <summary>Whether a token ends generation.</summary>
    public bool IsEndOfGeneration(int id) => Vocabulary.IsEndOfGeneration(id);
}
