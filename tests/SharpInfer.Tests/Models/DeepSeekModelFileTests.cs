using SharpInfer.Gguf;
using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Models.Architectures;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Models;

/// <summary>
/// DeepSeek-V2/V3 files: what <c>synth</c> writes (3-D expert tensors, routers in F32, either MLA layout), what
/// <c>quantize</c> does to them, and the metadata problems that are refused with a line naming them.
/// </summary>
public sealed class DeepSeekModelFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-deepseek-file-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    [Theory]
    [InlineData(LatentLayout.Split)]
    [InlineData(LatentLayout.Combined)]
    public void SynthWritesExactlyWhatTheFamilyReads(LatentLayout layout)
    {
        using var model = Model.Load(DeepSeekTestModels.V3(layout, "Q8_0"));
        var spec = model.Spec;
        var attention = Assert.IsType<LatentAttentionSpec>(spec.Layers[0].Attention);
        Assert.Equal(layout, attention.Layout);
        Assert.Equal(32, attention.QueryLoraRank);
        Assert.IsType<GatedFeedForwardSpec>(spec.Layers[0].FeedForward);
        var experts = Assert.IsType<MixtureOfExpertsSpec>(spec.Layers[1].FeedForward);
        Assert.Equal((8, 2, 4, 2, ExpertGating.Sigmoid, true, 2.5f), (experts.Experts, experts.ExpertsUsed, experts.Groups, experts.GroupsUsed, experts.Gating, experts.NormalizeWeights, experts.WeightScale));
        var names = model.File.Tensors.Select(t => t.Name).ToHashSet();
        Assert.Equal(spec.Tensors().Where(t => !t.Optional || t.Name == "output.weight" || t.Name.EndsWith("exp_probs_b.bias", StringComparison.Ordinal)).Select(t => t.Name).ToHashSet(), names);
        var gate = model.File.FindTensor("blk.1.ffn_gate_exps.weight")!;
        Assert.Equal([64L, 32, 8], gate.Shape);
        Assert.Equal(GgmlType.Q8_0, gate.Type);
        Assert.Equal(GgmlType.F32, model.File.FindTensor("blk.2.ffn_gate_inp.weight")!.Type);
    }

    /// <summary>
    /// Q4_K_M over a DeepSeek model: 3-D expert tensors are quantized row by row (rows that are not whole
    /// super-blocks fall back as 2-D ones do), <c>ffn_down_exps</c> gets what <c>ffn_down</c> would, routers stay F32;
    /// the result loads and computes what the F32 model computes, give or take 4-bit rounding (its logits correlate).
    /// </summary>
    [Fact]
    public void QuantizeConvertsExpertStacksAndKeepsRoutersInF32()
    {
        string source = SharedData.File("models/synthetic-arch/synth-deepseek2-F32.gguf");
        string target = Path.Combine(_dir, "q4km.gguf");
        var mix = QuantizationMix.Parse("Q4_K_M");
        ModelQuantizer.Quantize(source, target, new QuantizeOptions { Target = mix.BaseType, FileType = mix.FileType, Mix = mix });
        using var file = GgufFile.Open(target);
        Assert.Equal(GgmlType.F32, file.FindTensor("blk.1.ffn_gate_inp.weight")!.Type);
        Assert.Equal(GgmlType.F32, file.FindTensor("blk.1.exp_probs_b.bias")!.Type);
        Assert.Equal(GgmlType.Q4_K, file.FindTensor("blk.1.ffn_up_exps.weight")!.Type);
        foreach (int layer in new[] { 1, 2 })
        {
            var down = file.FindTensor($"blk.{layer}.ffn_down_exps.weight")!;
            Assert.Equal(3, down.Rank);
            var asDense = new GgufTensorInfo($"blk.{layer}.ffn_down.weight", GgmlType.F32, [down.Shape[0], down.Shape[1]], 0);
            Assert.Equal(mix.Choose(asDense, 3), down.Type);
        }
        // Layer 2 is one of the Q4_K_M layers whose down projections get more bits (64-wide rows: Q6_K falls back to Q8_0).
        Assert.Equal(GgmlType.Q8_0, file.FindTensor("blk.2.ffn_down_exps.weight")!.Type);
        Assert.Equal(GgmlType.Q5_0, file.FindTensor("blk.1.ffn_down_exps.weight")!.Type);

        using var quantized = Model.Load(target);
        using var original = Model.Load(source);
        var tokens = quantized.Tokenizer.Tokenize("Once upon a time there was a little girl");
        var a = LastLogits(quantized, tokens);
        var b = LastLogits(original, tokens);
        double correlation = Correlation(a, b);
        Assert.True(correlation > 0.95, $"correlation of the Q4_K_M and F32 logits: {correlation}");
    }

    private static double Correlation(float[] a, float[] b)
    {
        double ma = a.Average(x => (double)x), mb = b.Average(x => (double)x);
        double ab = a.Zip(b).Sum(p => (p.First - ma) * (p.Second - mb));
        return ab / Math.Sqrt(a.Sum(x => (x - ma) * (x - ma)) * b.Sum(x => (x - mb) * (x - mb)));
    }

    private static float[] LastLogits(Model model, int[] tokens)
    {
        using var context = model.CreateContext(new ContextOptions { ContextSize = 64, Threads = 2 });
        return LatentAttentionTests.Decode(context, tokens, 0)[^1];
    }

    public static TheoryData<string, string, string, string> BadMetadata() => new()
    {
        { "deepseek2-mla", "attention.key_length", "70", "split MLA layout: key_length 70" },
        { "deepseek2", "expert_gating_func", "3", "expert_gating_func 3 is not supported" },
        { "deepseek2", "expert_group_count", "3", "8 experts cannot be split into 3 groups" },
        { "deepseek2", "expert_used_count", "9", "expert_used_count 9 exceeds expert_count 8" },
        { "deepseek2", "rope.dimension_count", "48", "key head size 48 leaves no room" },
    };

    [Theory]
    [MemberData(nameof(BadMetadata))]
    public void InconsistentHyperParametersAreNamed(string name, string key, string value, string message)
    {
        using var file = GgufFile.Open(SharedData.File($"models/synthetic-arch/synth-{name}-F32.gguf"));
        var metadata = new GgufMetadata();
        foreach (var (k, v) in file.Metadata) metadata.Set(k, v);
        metadata.Set($"deepseek2.{key}", GgufValue.FromUInt32(uint.Parse(value, System.Globalization.CultureInfo.InvariantCulture)));
        if (key == "expert_group_count") metadata.Set("deepseek2.expert_group_used_count", GgufValue.FromUInt32(1));
        var e = Assert.Throws<ModelLoadException>(() => ModelArchitecture.Describe(metadata));
        Assert.Contains(message, e.Message);
    }
}
