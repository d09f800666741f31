using SharpInfer.Kernels;

namespace SharpInfer.Tests.Kernels;

/// <summary>Float kernels (dots over f32/f16/bf16, norms, SwiGLU, softmax, widening) against their scalar twins on every length.</summary>
public class FloatKernelTests
{
    [Fact]
    public void FloatKernelsMatchTheirScalarTwinsOnAllLengths()
    {
        var failures = KernelSelfCheck.CheckFloatKernels(maxLength: 200);
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
    }

    [Fact]
    public void VectorHalfWideningIsExactForAllBitPatterns()
    {
        var failures = KernelSelfCheck.CheckHalfConversions();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void FastExpIsWithinTwoUlpAndEveryWidthMatchesTheTwin()
    {
        var failures = KernelSelfCheck.CheckExp();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
