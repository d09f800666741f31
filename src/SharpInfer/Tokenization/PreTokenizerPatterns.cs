namespace SharpInfer.Tokenization;

/// <summary>
/// The split patterns llama.cpp applies for each <c>tokenizer.ggml.pre</c> family (ECMAScript syntax, run by
/// <see cref="CodepointRegex"/> unless <see cref="PreTokenizerSplitters"/> has a hand-written equivalent).
/// Every character outside ASCII is written as an escape: a source file that passes through Unicode
/// normalisation would otherwise turn, say, U+1FBE (GREEK PROSGEGRAMMENI) into U+03B9 and break the ranges
/// of the DeepSeek letter class, whose ends must be exactly the code points llama.cpp compiles.
/// </summary>
internal static class PreTokenizerPatterns
{
    private const string Contractions = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
    private const string Whitespace = "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /// <summary>GPT-2 (also the middle step of the default, Falcon, StarCoder and Chameleon families).</summary>
    public const string Gpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";

    /// <summary>Llama 3 with the case-insensitive contractions spelled out (the form llama.cpp uses).</summary>
    public const string Llama3 = Contractions + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" + Whitespace;

    /// <summary>Qwen2: Llama 3 with single digits.</summary>
    public const string Qwen2 = Contractions + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" + Whitespace;

    /// <summary>Qwen 3.5: Qwen2 with combining marks kept inside words.</summary>
    public const string Qwen35 = Contractions + "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|" + Whitespace;

    /// <summary>MiniCPM 5: Llama 3 with whole digit runs (after a first split into threes).</summary>
    public const string MiniCpm5 = Contractions + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" + Whitespace;

    /// <summary>Qwen2 without the contractions (Turkish apostrophe suffixes stay attached).</summary>
    public const string Ufakzeka = "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|" + Whitespace;

    /// <summary>Jais 2: Llama 3 with whitespace runs cut into power-of-two lengths.</summary>
    public const string Jais2 = Contractions + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
        + "\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}";

    /// <summary>Seed-Coder: single digits, punctuation runs without trailing newlines.</summary>
    public const string SeedCoder = Contractions + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|" + Whitespace;

    /// <summary>Bailing MoE (its possessive quantifiers made greedy, as llama.cpp does).</summary>
    public const string BailingMoe = "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";

    /// <summary>EXAONE MoE: words may contain single spaces between letters.</summary>
    public const string ExaoneMoe = Contractions + "|[^\\r\\n\\p{L}\\p{N}]?(?:\\p{L}\\p{M}*(?: \\p{L}\\p{M}*)*)+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]?|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";

    /// <summary>Mistral's Tekken: case-aware words (upper-case run then lower-case run).</summary>
    public const string Tekken = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|" + Whitespace;

    /// <summary>GPT-4o (o200k): Tekken's words with contractions and digits in threes.</summary>
    public const string Gpt4o = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+" + Contractions + "?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*" + Contractions + "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|" + Whitespace;

    /// <summary>Granite multilingual embeddings: GPT-4o with combining marks inside words.</summary>
    public const string GraniteEmbedMulti = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))*((?=[\\p{L}\\p{M}])([^A-Z]))+" + Contractions + "?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}\\p{M}])([^a-z]))+((?=[\\p{L}\\p{M}])([^A-Z]))*" + Contractions + "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|" + Whitespace;

    private const string CaseAwareWords = "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" + Contractions + "?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*" + Contractions + "?";

    /// <summary>Youtu: case-aware words, single digits.</summary>
    public const string Youtu = CaseAwareWords + "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|" + Whitespace;

    /// <summary>Youtu's first step: Hangul, CJK punctuation, Bopomofo and CJK/kana runs.</summary>
    public const string YoutuCjk = "[\uAC00-\uD7A3\u3131-\u318E]+|[\uFF01\u2026\u201C\u201D\u2018\u2019\u2014\uFF1A\uFF1B\uFF0C\u3001-\u303F\uFE30-\uFE4F]+|[\u3105-\u312F]+|[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+";

    /// <summary>Poro, BLOOM, GPT-3 Finnish: everything up to whitespace or sentence punctuation.</summary>
    public const string Poro = " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+";

    /// <summary>The default family's first step: runs of punctuation and ASCII symbols.</summary>
    public const string DefaultPunctuation = "[\\p{P}\\$\\+<=>\\^~\\|]+";

    /// <summary>Falcon's first step: as the default's, with the backquote.</summary>
    public const string FalconPunctuation = "[\\p{P}\\$\\+<=>\\^~\\|`]+";

    /// <summary>Digit runs.</summary>
    public const string Digits = "\\p{N}+";

    /// <summary>Single digits.</summary>
    public const string Digit = "\\p{N}";

    /// <summary>Digits in threes.</summary>
    public const string DigitsInThrees = "\\p{N}{1,3}";

    /// <summary>Three ASCII digits.</summary>
    public const string ThreeAsciiDigits = "[0-9][0-9][0-9]";

    /// <summary>DeepSeek LLM and Coder's first step: each line break alone.</summary>
    public const string LineBreak = "[\r\n]";

    /// <summary>DeepSeek LLM: an optional space and a run of letters of the scripts with case.</summary>
    public const string DeepSeekLetters = "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-\U0001E943]+";

    /// <summary>DeepSeek LLM: an optional space and a run of ASCII and full-width punctuation.</summary>
    public const string DeepSeekPunctuation = "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+";

    /// <summary>DeepSeek LLM: trailing whitespace.</summary>
    public const string TrailingWhitespace = "\\s+$";

    /// <summary>DeepSeek LLM and Coder: CJK ideographs, the range U+0800–U+4E00 and Hangul.</summary>
    public const string DeepSeekCjk = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";

    /// <summary>DeepSeek Coder: an optional space and letters.</summary>
    public const string SpacedLetters = "\\s?\\p{L}+";

    /// <summary>DeepSeek Coder: an optional space and punctuation.</summary>
    public const string SpacedPunctuation = "\\s?\\p{P}+";

    /// <summary>DeepSeek V3 (and Hunyuan dense, JoyAI): CJK ideographs and kana.</summary>
    public const string CjkAndKana = "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+";

    /// <summary>DeepSeek V3's main step: punctuation-led ASCII words, letter-and-mark words, punctuation and symbol runs.</summary>
    public const string DeepSeekV3 = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|" + Whitespace;

    /// <summary>Spark 2.5's main step: as DeepSeek V3's, with line breaks alone.</summary>
    public const string Spark25 = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+|[\\r\\n]|\\s+(?!\\S)|\\s+";

    /// <summary>AFMoE's second step: CJK, kana, half-width forms, Thai, Lao, Khmer, Myanmar and Hangul runs.</summary>
    public const string AfmoeScripts = "[\u4E00-\u9FFF\u3400-\u4DBF\u8C48-\uFAFF\u3040-\u309F\u30A0-\u30FF\uFF65-\uFF9F\u2F00-\u2FDF\u0E40-\u0E7F\u0E80-\u0EFF\u1780-\u17FF\u1000-\u109F\uAA60-\uAA7F\uA9E0-\uA9FF\uAC00-\uD7AF\u1100-\u11FF]+";

    /// <summary>Laguna's first step: lines and runs of line breaks.</summary>
    public const string Lines = "[^\\n]+|[\\n]+";

    /// <summary>SuperBPE's second step: empty matches that cut digit runs into threes from the right.</summary>
    public const string RightAlignedThrees = "(?=(\\d{3})+(?!\\d))";

    /// <summary>Chameleon's steps before GPT-2's.</summary>
    public static readonly string[] ChameleonSteps =
    [
        "<sentinel:[0-9]+>",
        "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
        "([\\t\\n]|    |  )",
        "\\p{N}",
        "[\\p{P}!-/:-@\\[-`{-~]",
        Gpt2,
    ];

    /// <summary>Kimi K2: handled by <see cref="PreTokenizerSplitters.SplitKimiK2"/> (Han runs, case-aware words).</summary>
    public const string KimiK2 = "\\p{Han}+";

    /// <summary>AFMoE's first step: handled by <see cref="PreTokenizerSplitters.SplitAfmoeDigits"/>.</summary>
    public const string AfmoeDigits = "\\p{AFMoE_digits}";
}
