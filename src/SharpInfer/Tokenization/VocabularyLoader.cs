using System.Text;
using SharpInfer.Gguf;

namespace SharpInfer.Tokenization;

/// <summary>Builds a <see cref="Vocabulary"/> from GGUF metadata with llama.cpp's defaults and special-token rules.</summary>
internal static class VocabularyLoader
{
    public static Vocabulary Load(GgufMetadata m)
    {
        string model = m.TryGetString("tokenizer.ggml.model") ?? throw new InvalidDataException("the model has no tokenizer (tokenizer.ggml.model is missing)");
        var kind = model switch
        {
            "llama" => VocabularyKind.SentencePiece,
            "gpt2" => VocabularyKind.BytePair,
            _ => throw new InvalidDataException($"unsupported tokenizer model '{Escape(model)}' (supported: llama = SentencePiece, gpt2 = byte-level BPE)"),
        };

        var tokensArray = m.TryGetArray("tokenizer.ggml.tokens") ?? throw new InvalidDataException("tokenizer.ggml.tokens is missing");
        if (tokensArray.ElementType != GgufValueType.String) throw new InvalidDataException("tokenizer.ggml.tokens is not an array of strings");
        var raw = tokensArray.As<byte[]>();
        int n = raw.Length;
        if (n == 0) throw new InvalidDataException("tokenizer.ggml.tokens is empty");
        var texts = new string[n];
        for (int i = 0; i < n; i++) texts[i] = raw[i].Length == 0 ? $"[EMPTY_{i}]" : Encoding.UTF8.GetString(raw[i]);

        var scores = new float[n];
        if (m.TryGetArray("tokenizer.ggml.scores") is { } scoreArray)
        {
            var values = scoreArray.ToSingle();
            if (values.Length < n) throw new InvalidDataException($"tokenizer.ggml.scores has {values.Length} entries for {n} tokens");
            Array.Copy(values, scores, n);
        }
        var attributes = new TokenAttributes[n];
        if (m.TryGetArray("tokenizer.ggml.token_type") is { } typeArray)
        {
            var types = typeArray.ToInt32();
            if (types.Length < n) throw new InvalidDataException($"tokenizer.ggml.token_type has {types.Length} entries for {n} tokens");
            for (int i = 0; i < n; i++)
            {
                attributes[i] = types[i] switch
                {
                    1 => TokenAttributes.Normal,
                    2 => TokenAttributes.Unknown,
                    3 => TokenAttributes.Control,
                    4 => TokenAttributes.UserDefined,
                    5 => TokenAttributes.Unused,
                    6 => TokenAttributes.Byte,
                    _ => TokenAttributes.None,
                };
            }
        }
        else
        {
            Array.Fill(attributes, TokenAttributes.Normal);
        }

        var vocab = new Vocabulary(kind, texts, scores, attributes);
        string? pre = m.TryGetString("tokenizer.ggml.pre");
        if (kind == VocabularyKind.SentencePiece)
        {
            vocab.Bos = 1;
            vocab.Eos = 2;
            vocab.Unk = 0;
            vocab.AddBos = true;
            vocab.AddSpacePrefix = true;
            vocab.CleanSpaces = false;
        }
        else
        {
            var family = ResolvePreTokenizer(pre, vocab);
            vocab.MergeRanks = LoadMerges(m, optional: family.Patterns is [PreTokenizerPatterns.KimiK2]);
            vocab.Bos = family.NoBos ? Vocabulary.None : 11;
            vocab.Eos = 11;
            vocab.PreTokenizerName = string.IsNullOrEmpty(pre) ? "default" : pre;
            vocab.PreTokenizerFamily = family;
            vocab.AddSpacePrefix = false;
            vocab.CleanSpaces = family.CleanSpaces;
            vocab.IgnoreMerges = family.IgnoreMerges;
            vocab.AddBos = family.AddBos;
        }
        if (m.TryGetBool("tokenizer.ggml.add_space_prefix") is bool addSpace) vocab.AddSpacePrefix = addSpace;

        ReadSpecialIds(m, vocab);
        if (m.TryGetBool("tokenizer.ggml.add_bos_token") is bool addBos) vocab.AddBos = addBos;
        if (m.TryGetBool("tokenizer.ggml.add_eos_token") is bool addEos) vocab.AddEos = addEos;
        if (vocab.AddBos && vocab.Bos == Vocabulary.None) throw new InvalidDataException("tokenizer.ggml.add_bos_token is true, but there is no BOS token");
        if (vocab.AddEos && vocab.Eos == Vocabulary.None) throw new InvalidDataException("tokenizer.ggml.add_eos_token is true, but there is no EOS token");

        DetectSpecialTokens(vocab);
        vocab.Newline = kind == VocabularyKind.SentencePiece
            ? (vocab.Find("<0x0A>") is var nl && nl >= 0 ? nl : vocab.Pad)
            : vocab.Find(ByteLevelCodec.Encode((byte)'\n').ToString()) is var bnl && bnl >= 0 ? bnl : vocab.Pad;
        ApplyModelSpecificAttributes(m, vocab);
        return vocab;
    }

    /// <summary>
    /// The family of a <c>tokenizer.ggml.pre</c> value. llama.cpp refuses a value it does not know; we fall back to
    /// the default family with a warning instead (as llama.cpp does when the key is missing), so that a model
    /// converted by a newer tool still runs, visibly flagged, rather than not at all.
    /// </summary>
    private static PreTokenizerFamily ResolvePreTokenizer(string? pre, Vocabulary vocab)
    {
        if (string.IsNullOrEmpty(pre))
        {
            vocab.Warn("tokenizer.ggml.pre is missing: using the default pre-tokenizer (tokenization may differ from the original model)");
            return PreTokenizerFamilies.Default;
        }
        if (PreTokenizerFamilies.Find(pre) is { } family) return family;
        if (PreTokenizerFamilies.Unsupported.TryGetValue(pre, out string? needs))
        {
            throw new InvalidDataException($"unsupported pre-tokenizer '{pre}' (it needs {needs})");
        }
        vocab.Warn($"unknown pre-tokenizer '{Escape(pre)}': using the default pre-tokenizer (tokenization may differ from the original model)");
        return PreTokenizerFamilies.Default with { Name = pre };
    }

    private static string Escape(string text) => text.Length > 64 ? System.Text.Json.JsonSerializer.Serialize(text[..64])[1..^1] + "…" : System.Text.Json.JsonSerializer.Serialize(text)[1..^1];

    private static Dictionary<string, int> LoadMerges(GgufMetadata m, bool optional)
    {
        var merges = m.TryGetArray("tokenizer.ggml.merges");
        if (merges is null)
        {
            return optional ? new Dictionary<string, int>(StringComparer.Ordinal) : throw new InvalidDataException("tokenizer.ggml.merges is missing (required by byte-level BPE)");
        }
        if (merges.ElementType != GgufValueType.String) throw new InvalidDataException("tokenizer.ggml.merges is not an array of strings");
        var raw = merges.As<byte[]>();
        var ranks = new Dictionary<string, int>(raw.Length, StringComparer.Ordinal);
        char[] buffer = new char[256];
        for (int i = 0; i < raw.Length; i++)
        {
            int maxChars = Encoding.UTF8.GetMaxCharCount(raw[i].Length);
            if (buffer.Length < maxChars) buffer = new char[maxChars];
            int length = Encoding.UTF8.GetChars(raw[i], buffer);
            // The separator is the first space after the first character (a token may itself start with one);
            // the key is "left\0right".
            int split = length > 1 ? Array.IndexOf(buffer, ' ', 1, length - 1) : -1;
            string key = split < 0 ? "\0" : Keyed(buffer.AsSpan(0, length), split);
            ranks.TryAdd(key, i);
        }
        return ranks;
    }

    private static string Keyed(Span<char> merge, int split)
    {
        merge[split] = '\0';
        return new string(merge);
    }

    private static void ReadSpecialIds(GgufMetadata m, Vocabulary v)
    {
        int Read(string key, int current)
        {
            // A default that is not inside the vocabulary is disabled.
            if (current >= v.Count) current = Vocabulary.None;
            if (m.Find(key) is not { } value) return current;
            long id;
            try { id = value.AsInt64(); }
            catch (InvalidCastException) { v.Warn($"{key} is not an integer; ignored"); return current; }
            if (id < 0 || id >= v.Count)
            {
                if (id != uint.MaxValue && id != -1) v.Warn($"{key} = {id} is outside the vocabulary; ignored");
                return current;
            }
            return (int)id;
        }
        v.Bos = Read("tokenizer.ggml.bos_token_id", v.Bos);
        v.Eos = Read("tokenizer.ggml.eos_token_id", v.Eos);
        v.Eot = Read("tokenizer.ggml.eot_token_id", v.Eot);
        v.Eom = Read("tokenizer.ggml.eom_token_id", v.Eom);
        v.Unk = Read("tokenizer.ggml.unknown_token_id", v.Unk);
        v.Sep = Read("tokenizer.ggml.seperator_token_id", v.Sep);
        v.Pad = Read("tokenizer.ggml.padding_token_id", v.Pad);
        v.Mask = Read("tokenizer.ggml.mask_token_id", v.Mask);
        v.FimPrefix = Read("tokenizer.ggml.prefix_token_id", v.FimPrefix);
        v.FimSuffix = Read("tokenizer.ggml.suffix_token_id", v.FimSuffix);
        v.FimMiddle = Read("tokenizer.ggml.middle_token_id", v.FimMiddle);
        v.FimPrefix = Read("tokenizer.ggml.fim_pre_token_id", v.FimPrefix);
        v.FimSuffix = Read("tokenizer.ggml.fim_suf_token_id", v.FimSuffix);
        v.FimMiddle = Read("tokenizer.ggml.fim_mid_token_id", v.FimMiddle);
        v.FimPad = Read("tokenizer.ggml.fim_pad_token_id", v.FimPad);
        v.FimRepo = Read("tokenizer.ggml.fim_rep_token_id", v.FimRepo);
        v.FimSeparator = Read("tokenizer.ggml.fim_sep_token_id", v.FimSeparator);
    }

    private static readonly string[] EotNames = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"];
    private static readonly string[] FimPreNames = ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"];
    private static readonly string[] FimSufNames = ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"];
    private static readonly string[] FimMidNames = ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"];
    private static readonly string[] FimPadNames = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
    private static readonly string[] FimRepNames = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"];
    private static readonly string[] EogNames = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["];

    /// <summary>
    /// Conversion scripts do not always record EOT/FIM ids or mark chat tokens as control; like llama.cpp, these are
    /// recognised by their text, marked control, and collected into the end-of-generation set.
    /// </summary>
    private static void DetectSpecialTokens(Vocabulary v)
    {
        int FindFirst(string[] names)
        {
            int best = Vocabulary.None;
            foreach (var name in names)
            {
                int id = v.Find(name);
                if (id >= 0 && (best < 0 || id < best)) best = id;
            }
            return best;
        }
        void MarkControl(int id)
        {
            if (id >= 0) v.Attributes[id] |= TokenAttributes.Control;
        }
        if (v.Eot < 0) { v.Eot = FindFirst(EotNames); MarkControl(v.Eot); }
        if (v.Eom < 0) { v.Eom = v.Find("<|eom_id|>"); MarkControl(v.Eom); }
        if (v.FimPrefix < 0) { v.FimPrefix = FindFirst(FimPreNames); MarkControl(v.FimPrefix); }
        if (v.FimSuffix < 0) { v.FimSuffix = FindFirst(FimSufNames); MarkControl(v.FimSuffix); }
        if (v.FimMiddle < 0) { v.FimMiddle = FindFirst(FimMidNames); MarkControl(v.FimMiddle); }
        if (v.FimPad < 0) { v.FimPad = FindFirst(FimPadNames); MarkControl(v.FimPad); }
        if (v.FimRepo < 0) { v.FimRepo = FindFirst(FimRepNames); MarkControl(v.FimRepo); }
        if (v.FimSeparator < 0) { v.FimSeparator = v.Find("<|file_sep|>"); MarkControl(v.FimSeparator); }

        for (int id = 0; id < v.Count; id++)
        {
            if ((v.Attributes[id] & TokenAttributes.Control) != 0 && v.Texts[id].Contains("unused", StringComparison.Ordinal))
            {
                v.Attributes[id] |= TokenAttributes.Unused;
            }
        }

        var eog = v.EndOfGenerationSet;
        foreach (int id in new[] { v.FimPad, v.FimRepo, v.FimSeparator }) if (id >= 0) eog.Add(id);
        foreach (var name in EogNames)
        {
            int id = v.Find(name);
            if (id < 0) continue;
            eog.Add(id);
            MarkControl(id);
        }
        foreach (var name in new[] { "<|channel|>", "<|message|>", "<|start|>", "<|constrain|>" })
        {
            int id = v.Find(name);
            if (id >= 0) v.Attributes[id] = TokenAttributes.UserDefined;
        }
        foreach (int id in new[] { v.Eos, v.Eot, v.Eom }) if (id >= 0) eog.Add(id);

        // Harmony-style vocabularies end a turn with <|return|>/<|call|>; there <|end|> separates messages.
        int end = v.Find("<|end|>");
        bool returns = v.Find("<|return|>") is >= 0 && eog.Contains(v.Find("<|return|>"));
        bool calls = v.Find("<|call|>") is var c1 && c1 >= 0 && eog.Contains(c1) || v.Find("<|calls|>") is var c2 && c2 >= 0 && eog.Contains(c2);
        bool flush = v.Find("<|flush|>") is var f && f >= 0 && eog.Contains(f);
        if (end >= 0 && eog.Contains(end) && (returns && calls || calls && flush))
        {
            eog.Remove(end);
            v.Attributes[end] = TokenAttributes.UserDefined;
        }
        int s = v.Find("</s>");
        int toolResponse = v.Find("<|tool_response>");
        if (s >= 0 && toolResponse >= 0 && eog.Contains(toolResponse) && eog.Contains(s))
        {
            eog.Remove(s);
            v.Attributes[s] = TokenAttributes.Normal;
        }
    }

    private static void ApplyModelSpecificAttributes(GgufMetadata m, Vocabulary v)
    {
        string name = (m.TryGetString("general.name") ?? string.Empty).ToLowerInvariant();
        string pre = m.TryGetString("tokenizer.ggml.pre") ?? string.Empty;
        string arch = m.TryGetString("general.architecture") ?? string.Empty;
        if (pre.Contains("jina-v2-de") || pre.Contains("jina-v2-es") || pre.Contains("jina-v2-code") || arch.Contains("nomic-bert-moe") || arch.Contains("jina-bert-v3"))
        {
            int mask = v.Find("<mask>");
            if (mask >= 0) v.Attributes[mask] |= TokenAttributes.LStrip;
        }
        else if (name.Contains("phi-3") || name.Contains("phi3"))
        {
            // Phi-3's added tokens swallow the whitespace that follows them.
            for (int id = 0; id < v.Count; id++)
            {
                if ((v.Attributes[id] & (TokenAttributes.Control | TokenAttributes.UserDefined | TokenAttributes.Unknown)) != 0)
                {
                    v.Attributes[id] |= TokenAttributes.RStrip;
                }
            }
            void Set(string text, bool on)
            {
                int id = v.Find(text);
                if (id < 0) return;
                if (on) v.Attributes[id] |= TokenAttributes.RStrip;
                else v.Attributes[id] &= ~TokenAttributes.RStrip;
            }
            Set("</s>", true);
            Set("<unk>", false);
            Set("<s>", false);
            Set("<|endoftext|>", false);
        }
        else if (name.Contains("modern-bert"))
        {
            int mask = v.Find("[MASK]");
            if (mask >= 0) v.Attributes[mask] |= TokenAttributes.LStrip;
        }
    }
}
