namespace SharpInfer.Tokenization;

/// <summary>What kind of token a vocabulary entry is (llama.cpp's token attributes).</summary>
[Flags]
public enum TokenAttributes
{
    /// <summary>No attribute (undefined type).</summary>
    None = 0,
    /// <summary>Unknown-token placeholder.</summary>
    Unknown = 1 << 0,
    /// <summary>Reserved, never produced.</summary>
    Unused = 1 << 1,
    /// <summary>Ordinary text token.</summary>
    Normal = 1 << 2,
    /// <summary>Control token (BOS, EOS, chat markers): only produced when special tokens are parsed.</summary>
    Control = 1 << 3,
    /// <summary>Added token matched in raw text before normal tokenization.</summary>
    UserDefined = 1 << 4,
    /// <summary>Byte-fallback token &lt;0xNN&gt;.</summary>
    Byte = 1 << 5,
    /// <summary>Whitespace before this token is removed when it is matched in text.</summary>
    LStrip = 1 << 7,
    /// <summary>Whitespace after this token is removed when it is matched in text.</summary>
    RStrip = 1 << 8,
}

/// <summary>Which tokenization algorithm a vocabulary uses.</summary>
public enum VocabularyKind
{
    /// <summary>SentencePiece (score-driven merges, byte fallback), <c>tokenizer.ggml.model = llama</c>.</summary>
    SentencePiece,
    /// <summary>Byte-level BPE (ranked merges over GPT-2 byte characters), <c>tokenizer.ggml.model = gpt2</c>.</summary>
    BytePair,
}
