namespace SharpInfer.Tests.Tokenization;

/// <summary>llama.cpp's tokenizer test vectors: strings in .inp, expected ids (one line per string) in .out.</summary>
public static class VocabTestVectors
{
    public static readonly string[] Families = ["llama-spm", "phi-3", "gpt-2", "llama-bpe", "deepseek-coder"];

    public static string Model(string family) => SharedData.File($"vocab/ggml-vocab-{family}.gguf");

    public static IReadOnlyList<(string Text, int[] Expected)> Load(string family)
    {
        string inp = File.ReadAllText(SharedData.File($"vocab/ggml-vocab-{family}.gguf.inp"));
        var texts = inp.Split("\n__ggml_vocab_test__\n");
        var lines = File.ReadAllText(SharedData.File($"vocab/ggml-vocab-{family}.gguf.out")).Split('\n');
        var cases = new List<(string, int[])>();
        for (int i = 0; i < texts.Length; i++)
        {
            var ids = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            cases.Add((texts[i], ids));
        }
        return cases;
    }
}
