using SharpInfer.Models;
using Xunit.Abstractions;

namespace SharpInfer.Tests.Models;

/// <summary>Every supported family against llama.cpp's logits and greedy continuations (f32 KV cache, as the references).</summary>
public class FamilyReferenceTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Files => new()
    {
        { "qwen2", "F32" }, { "qwen2", "Q8_0" },
        { "qwen3", "F32" }, { "qwen3", "Q8_0" },
        { "gemma2", "F32" }, { "gemma2", "Q8_0" },
        { "gemma3", "F32" }, { "gemma3", "Q8_0" },
        { "phi3", "F32" }, { "phi3", "Q8_0" },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void FamilyMatchesLlamaCpp(string family, string type)
    {
        using var model = Model.Load(SharedData.File($"models/synthetic-arch/synth-{family}-{type}.gguf"));
        Assert.Equal(family, model.Architecture);
        using var context = ReferenceChecker.F32Context(model);
        var result = ReferenceChecker.Check(model, context, ReferenceFile.Load($"synth-{family}-{type}"), ReferenceChecker.Tolerance(type), $"{family} {type}");
        output.WriteLine($"{family} {type}: {result}");
    }
}
