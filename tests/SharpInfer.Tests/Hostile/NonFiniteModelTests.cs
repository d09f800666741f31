using System.Runtime.InteropServices;
using SharpInfer.Gguf;
using SharpInfer.Inference;
using SharpInfer.Tests.Cli;

namespace SharpInfer.Tests.Hostile;

/// <summary>
/// A model whose weights or norm epsilon are not finite produces non-finite logits; every command that evaluates it
/// stops at the first such step with "the model produced non-finite logits at position N" and exit code 1, instead
/// of printing token 0 forever, reporting KL 0, or failing inside the JSON serializer.
/// </summary>
public sealed class NonFiniteModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-nonfinite-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>stories260K with one value of one tensor replaced (the middle one unless <paramref name="element"/> says), or a metadata float set.</summary>
    private string Broken(string name, string? tensor = null, string? key = null, float value = float.NaN, Func<GgufTensorInfo, int>? element = null)
    {
        using var file = GgufFile.Open(SharedData.Stories);
        var w = new GgufWriter(file.Version);
        foreach (var (k, v) in file.Metadata) w.Metadata.Set(k, k == key ? GgufValue.FromFloat32(value) : v);
        foreach (var t in file.Tensors)
        {
            if (t.Name != tensor)
            {
                w.AddTensor(file, t);
                continue;
            }
            var values = MemoryMarshal.Cast<byte, float>(file.GetData(t)).ToArray();
            values[element?.Invoke(t) ?? values.Length / 2] = value;
            w.AddTensor(t.Name, t.Type, t.Shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
        }
        string path = Path.Combine(_dir, name);
        w.Save(path);
        return path;
    }

    [Theory]
    [InlineData("llama.attention.layer_norm_rms_epsilon", -1f, "= -1 is out of range")]
    [InlineData("llama.attention.layer_norm_rms_epsilon", 0f, "= 0 is out of range")]
    [InlineData("llama.attention.layer_norm_rms_epsilon", float.PositiveInfinity, "= Infinity is out of range")]
    [InlineData("llama.attention.layer_norm_rms_epsilon", 2f, "= 2 is out of range")]
    public void HyperParametersOutOfRangeAreRefusedAtLoad(string key, float value, string expected)
    {
        string model = Broken($"bad-{value}.gguf", key: key, value: value);
        var e = Assert.Throws<SharpInfer.Models.ModelLoadException>(() => SharpInfer.Models.Model.Load(model));
        Assert.Contains($"metadata key '{key}' {expected}", e.Message);
    }

    public static TheoryData<string> Commands => new() { "run", "logits", "kv-quality" };

    private static CliRunner.Result RunCommand(string command, string model) => command switch
    {
        "run" => CliRunner.Run("run", "-m", model, "-p", "Once upon a time", "-n", "8"),
        "logits" => CliRunner.Run("logits", "-m", model, "-p", "Once upon a time", "--greedy", "4"),
        _ => CliRunner.Run("kv-quality", "-m", model, "-p", "Once upon a time there was"),
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void ANaNWeightStopsEveryCommandWithThePosition(string command)
    {
        // A NaN in the output norm reaches every logit of every position; run asks only for the prompt's last.
        string model = Broken("nan-weight.gguf", tensor: "output_norm.weight");
        using var reference = SharpInfer.Models.Model.Load(SharedData.Stories);
        int first = command == "run" ? reference.Tokenizer.Tokenize("Once upon a time", true, true).Length - 1 : 0;
        var r = RunCommand(command, model);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"error: the model produced non-finite logits at position {first}", r.Err);
        Assert.DoesNotContain("Exception", r.Err);
        Assert.Equal("", r.Out.Trim());
    }

    [Fact]
    public void ANaNNormEpsilonIsRefusedAtLoad()
    {
        // Hyper-parameters are range-checked before any weight is bound: the error names the key and its value.
        string model = Broken("nan-eps.gguf", key: "llama.attention.layer_norm_rms_epsilon");
        var r = CliRunner.Run("run", "-m", model, "-p", "Once upon a time", "-n", "8");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("metadata key 'llama.attention.layer_norm_rms_epsilon' = NaN is out of range", r.Err);
    }

    [Fact]
    public void AnInfiniteWeightInALaterTokensPathIsCaughtAtThatPosition()
    {
        // An infinite embedding row poisons only the positions that see that token: decoded one token at a time, the
        // first steps are fine and the error names the position of that token.
        using var model = SharpInfer.Models.Model.Load(SharedData.Stories);
        int[] tokens = model.Tokenizer.Tokenize("Once upon a time", true, false);
        string path = Broken("inf-row.gguf", tensor: "token_embd.weight", value: float.PositiveInfinity, element: t => tokens[2] * (int)t.RowLength);
        using var broken = SharpInfer.Models.Model.Load(path);
        using var context = broken.CreateContext(new ContextOptions { ContextSize = 32 });
        var batch = new Batch(1);
        for (int i = 0; i < 2; i++)
        {
            batch.Clear();
            batch.Add(tokens[i], i, 0, true);
            context.Decode(batch);
        }
        batch.Clear();
        batch.Add(tokens[2], 2, 0, true);
        var e = Assert.Throws<NonFiniteLogitsException>(() => context.Decode(batch));
        Assert.Equal(2, e.Position);
        Assert.Equal("the model produced non-finite logits at position 2", e.Message);
    }
}
