using P = SharpInfer.Tokenization.PreTokenizerPatterns;

namespace SharpInfer.Tokenization;

/// <summary>
/// How a byte-level BPE vocabulary splits text before merging, with the flags llama.cpp ties to the same
/// <c>tokenizer.ggml.pre</c> value: <paramref name="CleanSpaces"/> (detokenizer clean-up), <paramref name="IgnoreMerges"/>
/// (a word that is itself a token is emitted whole), <paramref name="AddBos"/> (default for add_bos_token) and
/// <paramref name="NoBos"/> (the family has no BOS token).
/// </summary>
internal sealed record PreTokenizerFamily(string Name, string[] Patterns, bool CleanSpaces = true, bool IgnoreMerges = false, bool AddBos = false, bool NoBos = false);

/// <summary>
/// Every <c>tokenizer.ggml.pre</c> value llama.cpp 0.7 accepts for byte-level BPE vocabularies, mapped to its split
/// patterns and flags. Values whose tokenizer works differently (SentencePiece-style BPE over raw UTF-8, or
/// whitespace-only splitting) are listed in <see cref="Unsupported"/> so that they fail clearly.
/// </summary>
internal static class PreTokenizerFamilies
{
    /// <summary>The family used when <c>tokenizer.ggml.pre</c> is absent or <c>default</c>.</summary>
    public static readonly PreTokenizerFamily Default = new("default", [P.DefaultPunctuation, P.Gpt2, P.Digits, P.ThreeAsciiDigits]);

    /// <summary>Recognised values whose tokenizer is not byte-level BPE, with what they need.</summary>
    public static readonly IReadOnlyDictionary<string, string> Unsupported = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["gemma4"] = "SentencePiece-style BPE over raw UTF-8",
        ["granite-embed-multi-311m"] = "SentencePiece-style BPE over raw UTF-8",
        ["sarvam-moe"] = "SentencePiece-style BPE over raw UTF-8",
        ["whitespace"] = "a whitespace-only word splitter",
        ["mmbert"] = "whitespace-dropping BPE over raw UTF-8",
        // llama.cpp 0.7 groups digits for these in a way that matches neither the pattern's regex semantics nor any rule
        // we could pin down (1234a → 1|234, but 1234567ⅰ → 12|345|67), so we refuse rather than differ silently.
        ["tiny_aya"] = "a digit-grouping step whose llama.cpp behaviour we do not reproduce",
        ["cohere2moe"] = "a digit-grouping step whose llama.cpp behaviour we do not reproduce",
    };

    private static readonly Dictionary<string, PreTokenizerFamily> Table = Build();

    /// <summary>The family of a recognised value, or null.</summary>
    public static PreTokenizerFamily? Find(string name) => Table.GetValueOrDefault(name);

    /// <summary>Every recognised value with a supported tokenizer.</summary>
    public static IReadOnlyCollection<string> Names => Table.Keys;

    private static Dictionary<string, PreTokenizerFamily> Build()
    {
        var map = new Dictionary<string, PreTokenizerFamily>(StringComparer.Ordinal);
        void Add(PreTokenizerFamily family, params string[] names)
        {
            foreach (var n in names) map.Add(n, family with { Name = n });
        }
        string[] gpt2 = [P.Gpt2], llama3 = [P.Llama3], qwen2 = [P.Qwen2], starcoder = [P.Digit, P.Gpt2], poro = [P.Poro];
        string[] deepSeekV3 = [P.DigitsInThrees, P.CjkAndKana, P.DeepSeekV3];

        Add(Default, "default");
        Add(new("llama3", llama3, IgnoreMerges: true, AddBos: true),
            "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano");
        Add(new("dbrx", llama3), "dbrx", "smaug-bpe");
        Add(new("chatglm", llama3, NoBos: true), "chatglm-bpe", "glm4", "glm5");
        Add(new("jais-2", [P.Jais2]), "jais-2");
        Add(new("minicpm5", [P.DigitsInThrees, P.MiniCpm5], IgnoreMerges: true), "minicpm5");
        Add(new("deepseek-llm", [P.LineBreak, P.DeepSeekLetters, P.DeepSeekPunctuation, P.TrailingWhitespace, P.DeepSeekCjk, P.Digits], CleanSpaces: false),
            "deepseek-llm");
        Add(new("deepseek-coder", [P.LineBreak, P.SpacedLetters, P.SpacedPunctuation, P.DeepSeekCjk, P.Digit], CleanSpaces: false), "deepseek-coder");
        Add(new("deepseek-v3", deepSeekV3, CleanSpaces: false), "deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4");
        Add(new("spark2_5", [P.DigitsInThrees, P.CjkAndKana, P.Spark25, P.Digit], CleanSpaces: false), "spark2_5");
        Add(new("afmoe", [P.AfmoeDigits, P.AfmoeScripts, P.DeepSeekV3], CleanSpaces: false), "afmoe");
        Add(new("youtu", [P.YoutuCjk, P.Youtu], CleanSpaces: false, IgnoreMerges: true), "youtu");
        Add(new("falcon", [P.FalconPunctuation, P.Gpt2, P.ThreeAsciiDigits]), "falcon");
        Add(new("starcoder", starcoder), "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2");
        Add(new("starcoder", starcoder, CleanSpaces: false), "command-r", "smollm");
        Add(new("gpt2", gpt2), "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
            "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "exaone4", "mpt", "olmo", "jais");
        Add(new("gpt2", gpt2, CleanSpaces: false), "trillion", "granite-docling");
        Add(new("qwen2", qwen2, CleanSpaces: false), "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2");
        Add(new("qwen2", qwen2), "stablelm2", "megrez");
        Add(new("qwen35", [P.Qwen35], CleanSpaces: false), "qwen35");
        Add(new("ufakzeka", [P.Ufakzeka], CleanSpaces: false), "ufakzeka");
        Add(new("laguna", [P.Lines, P.Qwen2], CleanSpaces: false), "laguna");
        Add(new("poro", poro, CleanSpaces: false), "poro-chat");
        Add(new("poro", poro), "bloom", "gpt3-finnish");
        Add(new("viking", [P.Poro, P.Digit], CleanSpaces: false), "viking");
        Add(new("tekken", [P.Tekken], CleanSpaces: false, IgnoreMerges: true, AddBos: true), "tekken");
        Add(new("chameleon", P.ChameleonSteps, CleanSpaces: false, AddBos: true), "chameleon");
        Add(new("gpt-4o", [P.Gpt4o], CleanSpaces: false), "gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2");
        Add(new("granite-embed-multi", [P.GraniteEmbedMulti], CleanSpaces: false, IgnoreMerges: true), "granite-embed-multi-97m");
        Add(new("superbpe", [P.Digits, P.RightAlignedThrees], CleanSpaces: false), "superbpe");
        Add(new("seed-coder", [P.SeedCoder], CleanSpaces: false), "seed-coder");
        Add(new("bailingmoe", [P.BailingMoe], CleanSpaces: false), "bailingmoe", "bailingmoe2", "llada-moe");
        Add(new("exaone-moe", [P.ExaoneMoe]), "exaone-moe");
        Add(new("kimi-k2", [P.KimiK2], CleanSpaces: false), "kimi-k2");
        return map;
    }
}
