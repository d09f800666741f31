using SharpInfer.Models;
using Xunit.Abstractions;

namespace SharpInfer.Tests.Models;

/// <summary>
/// DeepSeek-V2/V3 (<c>deepseek2</c>) files against llama.cpp's logits and greedy continuations, in both MLA modes:
/// the combined <c>attn_kv_b</c> layout (V3-style routing: sigmoid, selection bias, normalised weights × 2.5), the
/// same weights in the split layout, and a V2-Lite-style file (no query compression, softmax gating).
/// </summary>
public class DeepSeekReferenceTests(ITestOutputHelper output)
{
    public static TheoryData<string, string, MlaMode> Files()
    {
        var data = new TheoryData<string, string, MlaMode>();
        foreach (var file in new[] { "deepseek2", "deepseek2-mla", "deepseek2-lite" })
        {
            foreach (var type in new[] { "F32", "Q8_0" })
            {
                foreach (var mode in new[] { MlaMode.Absorb, MlaMode.Naive }) data.Add(file, type, mode);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void MatchesLlamaCpp(string file, string type, MlaMode mode)
    {
        using var model = Model.Load(SharedData.File($"models/synthetic-arch/synth-{file}-{type}.gguf"));
        Assert.Equal("deepseek2", model.Architecture);
        using var context = ReferenceChecker.F32Context(model, mla: mode);
        var result = ReferenceChecker.Check(model, context, ReferenceFile.Load($"synth-{file}-{type}"), ReferenceChecker.Tolerance(type),
            $"{file} {type} {mode}", RouterTie(type));
        output.WriteLine($"{file} {type} {mode}: {result}");
    }

    /// <summary>Routing margins under which a position may legitimately have chosen other experts than llama.cpp did.</summary>
    private static double RouterTie(string type) => type == "F32" ? 1e-4 : 1e-2;
}
