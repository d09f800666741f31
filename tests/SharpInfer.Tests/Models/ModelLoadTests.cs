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

    [Fact]
    public void TiedEmbeddingsAreUsedWhenOutputIsAbsent()
    {
        string path = Rewrite(SharedData.Stories, (f, w) => CopyTensors(f, w, t => t.Name != "output.weight"), "tied.gguf");
        using var model = Model.Load(path);
        Assert.True(model.Network.TiedOutput);
        using var context = model.CreateContext(new SharpInfer.Inference.ContextOptions { ContextSize = 64 });
        var result = new SharpInfer.Inference.Generator(context).Generate("Once upon a time", new SharpInfer.Inference.GenerationOptions { MaxTokens = 4, Sampling = SharpInfer.Sampling.SamplingOptions.Greedy });
        Assert.Equal(4, result.GeneratedTokens.Length);
    }
}
