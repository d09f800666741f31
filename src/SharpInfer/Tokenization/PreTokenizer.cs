using System.Text;

namespace SharpInfer.Tokenization;

/// <summary>How a byte-level BPE vocabulary splits text into words before merging, chosen by <c>tokenizer.ggml.pre</c>.</summary>
internal sealed record PreTokenizerFamily(string Name, string[] Patterns, bool CleanSpaces = true, bool IgnoreMerges = false, bool AddBos = false);

/// <summary>
/// Splits text into words with a sequence of patterns; each pattern re-splits every piece the previous one
/// produced, and text between matches stays as pieces of its own (llama.cpp's semantics).
/// </summary>
internal sealed class PreTokenizer
{
    private const string Default2 = PreTokenizerSplitters.Gpt2Pattern;
    private const string Qwen2 = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private const string Poro = " ?[^(\\s|.,!?…。，、।۔،)]+";
    private const string Tekken = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private const string Gpt4o = "[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private const string DeepSeekLlmLetters = "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+";

    private static readonly PreTokenizerFamily DefaultFamily =
        new("default", ["[\\p{P}\\$\\+<=>\\^~\\|]+", Default2, "\\p{N}+", "[0-9][0-9][0-9]"]);

    private static readonly Dictionary<string, PreTokenizerFamily> Families = BuildFamilies();

    private static Dictionary<string, PreTokenizerFamily> BuildFamilies()
    {
        var map = new Dictionary<string, PreTokenizerFamily>(StringComparer.Ordinal);
        void Add(PreTokenizerFamily family, params string[] names)
        {
            foreach (var n in names) map[n] = family with { Name = n };
        }
        Add(DefaultFamily, "default");
        Add(new("llama3", [PreTokenizerSplitters.Llama3Pattern], IgnoreMerges: true, AddBos: true),
            "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2");
        Add(new("dbrx", [PreTokenizerSplitters.Llama3Pattern]), "dbrx", "smaug-bpe");
        Add(new("chatglm", [PreTokenizerSplitters.Llama3Pattern]), "chatglm-bpe", "glm4");
        Add(new("deepseek-llm", ["[\r\n]", DeepSeekLlmLetters, "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+", "\\p{N}+"], CleanSpaces: false),
            "deepseek-llm");
        Add(new("deepseek-coder", ["[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[一-龥ࠀ-一가-퟿]+", "\\p{N}"], CleanSpaces: false), "deepseek-coder");
        Add(new("falcon", ["[\\p{P}\\$\\+<=>\\^~\\|`]+", Default2, "[0-9][0-9][0-9]"]), "falcon");
        Add(new("starcoder", ["\\p{N}", Default2]), "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2");
        Add(new("starcoder", ["\\p{N}", Default2], CleanSpaces: false), "command-r", "smollm");
        Add(new("gpt2", [Default2]), "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
            "mellum", "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "exaone4", "mpt", "olmo", "gpt-neox", "jais");
        Add(new("gpt2", [Default2], CleanSpaces: false), "trillion", "granite-docling");
        Add(new("qwen2", [Qwen2], CleanSpaces: false), "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2");
        Add(new("qwen2", [Qwen2]), "stablelm2", "megrez");
        Add(new("poro", [Poro], CleanSpaces: false), "poro-chat");
        Add(new("poro", [Poro]), "bloom", "gpt3-finnish");
        Add(new("viking", [Poro, "\\p{N}"], CleanSpaces: false), "viking");
        Add(new("tekken", [Tekken], CleanSpaces: false, IgnoreMerges: true, AddBos: true), "tekken");
        Add(new("gpt-4o", [Gpt4o], CleanSpaces: false), "gpt-4o", "llama4", "kanana2", "minimax-m2");
        Add(new("seed-coder", ["(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"], CleanSpaces: false), "seed-coder");
        Add(new("bailingmoe", ["'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"], CleanSpaces: false),
            "bailingmoe", "bailingmoe2", "llada-moe");
        return map;
    }

    private readonly List<Step> _steps = new();

    private abstract record Step;
    private sealed record SplitterStep(Action<int[], int, int, List<(int, int)>> Split) : Step;
    private sealed record RegexStep(CodepointRegex Regex) : Step;

    private PreTokenizer(PreTokenizerFamily family)
    {
        Family = family;
        foreach (var pattern in family.Patterns)
        {
            if (pattern == PreTokenizerSplitters.Gpt2Pattern) _steps.Add(new SplitterStep(PreTokenizerSplitters.SplitGpt2));
            else if (pattern is PreTokenizerSplitters.Llama3Pattern or PreTokenizerSplitters.Llama3PatternOriginal) _steps.Add(new SplitterStep(PreTokenizerSplitters.SplitLlama3));
            else _steps.Add(new RegexStep(new CodepointRegex(pattern)));
        }
    }

    /// <summary>The family in use.</summary>
    public PreTokenizerFamily Family { get; }

    /// <summary>
    /// The pre-tokenizer for a <c>tokenizer.ggml.pre</c> value. An empty or unknown value gives the default
    /// family and a warning (llama.cpp refuses unknown values; a user would rather have degraded text than no text).
    /// </summary>
    public static PreTokenizer ForName(string? name, out string? warning)
    {
        warning = null;
        if (string.IsNullOrEmpty(name))
        {
            warning = "tokenizer.ggml.pre is missing: using the default pre-tokenizer (tokenization may differ from the original model)";
            return new PreTokenizer(DefaultFamily);
        }
        if (Families.TryGetValue(name, out var family)) return new PreTokenizer(family);
        warning = $"unknown pre-tokenizer '{name}': using the default pre-tokenizer (tokenization may differ from the original model)";
        return new PreTokenizer(DefaultFamily with { Name = name });
    }

    /// <summary>Names of every recognised <c>tokenizer.ggml.pre</c> value.</summary>
    public static IReadOnlyCollection<string> KnownNames => Families.Keys;

    /// <summary>Splits text into words (not yet byte-encoded).</summary>
    public List<string> Split(string text)
    {
        int[] cps = UnicodeFlags.CodePoints(text);
        var pieces = new List<(int Start, int Length)> { (0, cps.Length) };
        var next = new List<(int, int)>();
        var matches = new List<(int Start, int Length)>();
        foreach (var step in _steps)
        {
            next.Clear();
            if (step is SplitterStep s)
            {
                foreach (var (start, length) in pieces) s.Split(cps, start, start + length, next);
            }
            else
            {
                var regex = ((RegexStep)step).Regex;
                int[] prepared = regex.Prepare(cps);
                foreach (var (start, length) in pieces)
                {
                    matches.Clear();
                    regex.Matches(prepared, start, start + length, matches);
                    int cursor = start;
                    foreach (var (ms, ml) in matches)
                    {
                        if (ms > cursor) next.Add((cursor, ms - cursor));
                        next.Add((ms, ml));
                        cursor = ms + ml;
                    }
                    if (cursor < start + length) next.Add((cursor, start + length - cursor));
                }
            }
            (pieces, next) = (next, pieces);
        }
        var words = new List<string>(pieces.Count);
        var sb = new StringBuilder();
        foreach (var (start, length) in pieces)
        {
            sb.Clear();
            for (int i = start; i < start + length; i++) UnicodeFlags.Append(sb, cps[i]);
            words.Add(sb.ToString());
        }
        return words;
    }
}
