using SharpInfer.Gguf;
using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Tests.Cli;

namespace SharpInfer.Tests.Models;

/// <summary>Broken or foreign models are refused with one clear line naming the problem.</summary>
public sealed class ModelLoadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-model-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Rewrite(string source, Action<GgufFile, GgufWriter> edit, string name)
    {
        using var file = GgufFile.Open(source);
        var w = new GgufWriter(file.Version);
        foreach (var (k, v) in file.Metadata) w.Metadata.Set(k, v);
        edit(file, w);
        string path = Path.Combine(_dir, name);
        w.Save(path);
        return path;
    }

    private static void CopyTensors(GgufFile file, GgufWriter w, Func<GgufTensorInfo, bool> keep)
    {
        foreach (var t in file.Tensors.Where(keep)) w.AddTensor(file, t);
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        string path = Rewrite(SharedData.Synth("F32"), (f, w) => CopyTensors(f, w, t => t.Name != "blk.1.ffn_up.weight"), "missing.gguf");
        var e = Assert.Throws<ModelLoadException>(() => Model.Load(path));
        Assert.Contains("blk.1.ffn_up.weight", e.Message);
        var r = CliRunner.Run("run", "-m", path, "-p", "hi");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("blk.1.ffn_up.weight", r.Err);
        Assert.Single(r.Err.Trim().Split('\n'));
    }

    [Fact]
    public void WrongShapeIsNamed()
    {
        string path = Rewrite(SharedData.Synth("F32"), (f, w) =>
        {
            foreach (var t in f.Tensors)
            {
                if (t.Name == "blk.0.attn_k.weight") w.AddTensor(t.Name, t.Type, [t.Shape[0], t.Shape[1] / 2], new byte[t.ByteSize / 2]);
                else w.AddTensor(f, t);
            }
        }, "shape.gguf");
        var e = Assert.Throws<ModelLoadException>(() => Model.Load(path));
        Assert.Contains("blk.0.attn_k.weight", e.Message);
        Assert.Contains("expected", e.Message);
    }

    [Fact]
    public void UnsupportedArchitectureIsNamedWithTheSupportedOnes()
    {
        string path = Rewrite(SharedData.Synth("F32"), (f, w) =>
        {
            w.Metadata.Set("general.architecture", GgufValue.FromString("mamba"));
            CopyTensors(f, w, _ => true);
        }, "mamba.gguf");
        var e = Assert.Throws<ModelLoadException>(() => Model.Load(path));
        Assert.Equal("unsupported architecture 'mamba' (supported: llama, qwen2, qwen3, gemma2, gemma3, phi3, deepseek2)", e.Message);
        var r = CliRunner.Run("run", "-m", path, "-p", "hi");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("unsupported architecture 'mamba'", r.Err);
    }

    [Fact]
    public void MissingHyperParameterIsNamed()
    {
        string path = Rewrite(SharedData.Synth("F32"), (f, w) =>
        {
            w.Metadata.Remove("llama.block_count");
            CopyTensors(f, w, _ => true);
        }, "meta.gguf");
        Assert.Contains("llama.block_count", Assert.Throws<ModelLoadException>(() => Model.Load(path)).Message);
    }

    [Fact]
    public void VocabularyOnlyFilesAreNotModels()
    {
        var r = CliRunner.Run("run", "-m", SharedData.File("vocab/ggml-vocab-llama-spm.gguf"), "-p", "hi");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("token_embd.weight", r.Err);
    }

    /// <summary>
    /// Without output.weight the logits are the hidden state against token_embd: exactly what a file whose
    /// output.weight is a copy of token_embd gives, and not what a file with another output.weight gives.
    /// </summary>
    [Fact]
    public void TiedEmbeddingsAreUsedWhenOutputIsAbsent()
    {
        string tied = Rewrite(SharedData.Stories, (f, w) => CopyTensors(f, w, t => t.Name != "output.weight"), "tied.gguf");
        string copied = Rewrite(SharedData.Stories, (f, w) =>
        {
            CopyTensors(f, w, t => t.Name != "output.weight");
            w.AddTensor(f, f.GetTensor("token_embd.weight"), rename: "output.weight");
        }, "copied.gguf");
        using var tiedModel = Model.Load(tied);
        Assert.True(tiedModel.Network.TiedOutput);
        var fromTied = LastLogits(tiedModel);
        Assert.Equal(LastLogits(copied), fromTied);
        // stories260K's own output.weight is a copy of token_embd too, so the control is one that differs: halved.
        string halved = Rewrite(SharedData.Stories, (f, w) =>
        {
            CopyTensors(f, w, t => t.Name != "output.weight");
            var embedding = f.GetTensor("token_embd.weight");
            var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f.GetData(embedding)).ToArray();
            for (int i = 0; i < values.Length; i++) values[i] *= 0.5f;
            w.AddTensor("output.weight", embedding.Type, embedding.Shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        }, "halved.gguf");
        var fromOwnOutput = LastLogits(halved);
        Assert.True(fromOwnOutput.Zip(fromTied, (a, b) => Math.Abs(a - b)).Max() > 1e-3, "output.weight made no difference: the test would not see a wrong tie");
    }

    private static float[] LastLogits(string path)
    {
        using var model = Model.Load(path);
        return LastLogits(model);
    }

    private static float[] LastLogits(Model model)
    {
        using var context = model.CreateContext(new SharpInfer.Inference.ContextOptions { ContextSize = 64, TypeK = SharpInfer.Tensors.GgmlType.F32, TypeV = SharpInfer.Tensors.GgmlType.F32 });
        var tokens = model.Tokenizer.Tokenize("Once upon a time", true, false);
        var batch = new SharpInfer.Inference.Batch(tokens.Length);
        for (int i = 0; i < tokens.Length; i++) batch.Add(tokens[i], i, 0, i == tokens.Length - 1);
        context.Decode(batch);
        return context.GetOutputLogits(0).ToArray();
    }
}
