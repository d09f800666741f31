using System.Text;
using BenchmarkDotNet.Attributes;
using SharpInfer.Gguf;
using SharpInfer.Tokenization;

namespace SharpInfer.Bench;

/// <summary>
/// Tokenizing a long mixed prompt (prose, code, digits, CJK, emoji; about 16 000 characters) with the vocabularies
/// of the shared data: SentencePiece, Llama 3's hand-written splitter, and GPT-2's vocabulary under the Qwen2
/// splitter and the regex-driven DeepSeek V3 and GPT-4o pre-tokenizers. The allocation column should stay near
/// the size of the buffers the text needs (code points, pieces, ids), independent of the number of words.
/// </summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private Tokenizer _tokenizer = null!;
    private string _text = null!;

    /// <summary>Vocabulary file, with a pre-tokenizer override after a colon.</summary>
    [Params("llama-spm", "llama-bpe", "gpt-2:qwen2", "gpt-2:deepseek-v3", "gpt-2:gpt-4o")]
    public string Vocabulary { get; set; } = "llama-bpe";

    [GlobalSetup]
    public void Setup()
    {
        var parts = Vocabulary.Split(':');
        string path = BenchData.SharedFile($"vocab/ggml-vocab-{parts[0]}.gguf") ?? throw new FileNotFoundException($"vocab/ggml-vocab-{parts[0]}.gguf not found in the shared data folder");
        using var file = GgufFile.Open(path);
        var metadata = new GgufMetadata();
        foreach (var (key, value) in file.Metadata) metadata.Set(key, value);
        if (parts.Length > 1) metadata.Set("tokenizer.ggml.pre", GgufValue.FromString(parts[1]));
        _tokenizer = new Tokenizer(Tokenization.Vocabulary.FromGguf(metadata));
        var sb = new StringBuilder();
        for (int i = 0; sb.Length < 16_000; i++)
        {
            sb.Append("The quick brown fox doesn't jump over ").Append(i * 7919).Append(" lazy dogs; it's 3.14159 times faster.\n");
            sb.Append("    if (x[i] <= limit && !done) { total += x[i] * 2; }  // loop ").Append(i).Append('\n');
            sb.Append("中文字符和汉字，日本語のひらがな。 🦙 Ünïcödé  \t tabs\n\n");
        }
        _text = sb.ToString();
    }

    /// <summary>Tokenize the prompt (no BOS, special tokens not parsed).</summary>
    [Benchmark]
    public int Tokenize() => _tokenizer.Tokenize(_text, addSpecial: false).Length;
}
