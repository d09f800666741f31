using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Kernels;

/// <summary>
/// The flash attention kernel (many tokens × query heads sharing each widened tile, a cell range per token) against
/// the scalar twin run token by token on that token's own cells, for every cache layout of the self-check. The same
/// check runs in child processes with instruction sets switched off (<see cref="InstructionSetFallbackTests"/>).
/// </summary>
public class FlashAttentionTests
{
    public static TheoryData<GgmlType, GgmlType, int, int, int> Cases()
    {
        var data = new TheoryData<GgmlType, GgmlType, int, int, int>();
        foreach (var c in KernelSelfCheck.AttentionCases) data.Add(c.TypeK, c.TypeV, c.Group, c.DimK, c.DimV);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BlockEqualsScalarTwinTokenByToken(GgmlType typeK, GgmlType typeV, int group, int dimK, int dimV)
    {
        var failures = KernelSelfCheck.CheckAttention(typeK, typeV, group, dimK, dimV);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    public static TheoryData<GgmlType, int, int, int> ValuesInKeysCases()
    {
        var data = new TheoryData<GgmlType, int, int, int>();
        foreach (var c in KernelSelfCheck.ValuesInKeysCases) data.Add(c.Type, c.Group, c.DimK, c.DimV);
        return data;
    }

    /// <summary>A latent cache's view (values = the first elements of the key rows, widened once) against the scalar twin.</summary>
    [Theory]
    [MemberData(nameof(ValuesInKeysCases))]
    public void ValuesReadFromTheKeyRowsEqualScalarTwin(GgmlType type, int group, int dimK, int dimV)
    {
        var failures = KernelSelfCheck.CheckAttention(type, type, group, dimK, dimV, valuesInKeys: true);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
