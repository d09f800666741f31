using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using SharpInfer.Gguf;
using SharpInfer.Tokenization;
using Xunit.Abstractions;

namespace SharpInfer.Tests.Tokenization;

/// <summary>
/// Every case of <c>LlamaCppReference/llama-cpp-tokenizer-ids.json</c> against the ids llama.cpp 0.7.0 gave for it.
/// A case names a vocabulary variant (a vocab file of ../shared/vocab with some metadata keys set and some
/// tokens renamed and retyped, applied here in memory exactly as <c>generate.py</c> applied them to the file it
/// gave llama.cpp), a text, and the add_special / parse_special flags. Variants cover each pre-tokenizer
/// family llama.cpp accepts for byte-level BPE, SentencePiece with and without the space prefix, and the
/// special-token rules: user-defined tokens matched always, control tokens only when parsing special tokens,
/// Phi-3's rstrip and the lstrip of jina-v2's &lt;mask&gt; and ModernBERT's [MASK].
/// </summary>
public class LlamaCppParityTests(ITestOutputHelper output)
{
    private static readonly Lazy<JsonDocument> Reference = new(() => JsonDocument.Parse(File.ReadAllText(
        Path.Combine(SharedData.RepoRoot, "tests", "SharpInfer.Tests", "Tokenization", "LlamaCppReference", "llama-cpp-tokenizer-ids.json"))));

    private static JsonElement Variant(string name) =>
        Reference.Value.RootElement.GetProperty("variants").EnumerateArray().Single(v => v.GetProperty("name").GetString() == name);

    public static TheoryData<string> Variants => new(Reference.Value.RootElement.GetProperty("variants").EnumerateArray().Select(v => v.GetProperty("name").GetString()!));

    [Theory]
    [MemberData(nameof(Variants))]
    public void MatchesLlamaCpp(string name)
    {
        var variant = Variant(name);
        var tokenizer = new Tokenizer(Vocabulary.FromGguf(BuildMetadata(variant)));
        var texts = Reference.Value.RootElement.GetProperty("texts").EnumerateArray().Select(t => t.GetString()!).ToArray();
        int cases = 0, failures = 0;
        foreach (var c in variant.GetProperty("cases").EnumerateArray())
        {
            string text = texts[c.GetProperty("text").GetInt32()];
            bool addSpecial = c.GetProperty("add_special").GetBoolean(), parseSpecial = c.GetProperty("parse_special").GetBoolean();
            var expected = c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var actual = tokenizer.Tokenize(text, addSpecial, parseSpecial);
            cases++;
            if (actual.SequenceEqual(expected)) continue;
            failures++;
            output.WriteLine($"{name} add_special={addSpecial} parse_special={parseSpecial} {JsonSerializer.Serialize(text)}\n  llama.cpp {string.Join(' ', expected)}\n  ours      {string.Join(' ', actual)}");
        }
        Assert.True(cases >= 10, $"{name} has only {cases} cases");
        Assert.Equal(0, failures);
    }

    private static readonly ConcurrentDictionary<string, (string Key, GgufValue Value)[]> BaseMetadata = new();

    /// <summary>The variant's metadata: its base vocab file's, with keys set and tokens edited.</summary>
    internal static GgufMetadata BuildMetadata(JsonElement variant)
    {
        var entries = BaseMetadata.GetOrAdd(variant.GetProperty("base").GetString()!, name =>
        {
            using var file = GgufFile.Open(VocabTestVectors.Model(name));
            return file.Metadata.Select(e => (e.Key, e.Value)).ToArray();
        });
        var metadata = new GgufMetadata();
        foreach (var (key, value) in entries) metadata.Set(key, value);
        foreach (var set in variant.GetProperty("set").EnumerateObject())
        {
            metadata.Set(set.Name, set.Value.ValueKind switch
            {
                JsonValueKind.True or JsonValueKind.False => GgufValue.FromBool(set.Value.GetBoolean()),
                _ => GgufValue.FromString(set.Value.GetString()!),
            });
        }
        var tokens = metadata.GetArray("tokenizer.ggml.tokens").As<byte[]>().ToArray();
        var types = metadata.GetArray("tokenizer.ggml.token_type").ToInt32();
        foreach (var edit in variant.GetProperty("tokens").EnumerateObject())
        {
            int id = int.Parse(edit.Name);
            tokens[id] = Encoding.UTF8.GetBytes(edit.Value[0].GetString()!);
            types[id] = edit.Value[1].GetInt32();
        }
        metadata.Set("tokenizer.ggml.tokens", GgufValue.FromArray(new GgufArray(GgufValueType.String, tokens)));
        metadata.Set("tokenizer.ggml.token_type", GgufValue.FromArray(new GgufArray(GgufValueType.Int32, types)));
        return metadata;
    }

    [Fact]
    public void TheReferenceCoversTheFamiliesThisProjectTargets()
    {
        var names = Reference.Value.RootElement.GetProperty("variants").EnumerateArray().Select(v => v.GetProperty("name").GetString()).ToHashSet();
        foreach (var family in new[] { "bpe-qwen2", "bpe-deepseek-llm", "bpe-deepseek-v3", "deepseek-coder", "bpe-smollm", "bpe-gpt-4o", "llama-bpe", "bpe-default", "gpt-2", "phi-3", "llama-spm", "spm-gemma" })
        {
            Assert.Contains(family, names);
        }
    }
}
