using SharpInfer.Kernels;

namespace SharpInfer.Tests.Kernels;

public unsafe class RopeTests
{
    private static float[] Rotate(RopeParameters p, float[] x, int heads, int headDim, float position, bool magnitude = true)
    {
        var y = (float[])x.Clone();
        var cache = new float[p.Dims];
        fixed (float* c = cache)
        fixed (float* yp = y)
        {
            Rope.BuildCache(p, position, c, magnitude);
            Rope.Apply(yp, heads, headDim, c, p.Dims, p.NeoX);
        }
        return y;
    }

    public static TheoryData<RopeParameters> Variants => new()
    {
        new RopeParameters(64),
        new RopeParameters(64, NeoX: true),
        new RopeParameters(32, Base: 500000),
        new RopeParameters(64, FreqScale: 0.25f),
        new RopeParameters(64, FreqScale: 0.25f, ExtFactor: 1f, OriginalContext: 512),
        new RopeParameters(64, FreqFactors: Enumerable.Range(0, 32).Select(i => 1f + i * 0.1f).ToArray()),
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void RotationsComposeByAddingPositions(RopeParameters p)
    {
        // The K-shift relies on this: rotating by a then by d equals rotating by a + d.
        var r = new Random(3);
        var x = Enumerable.Range(0, 2 * 64).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var direct = Rotate(p, x, 2, 64, 37, magnitude: false);
        var composed = Rotate(p, Rotate(p, x, 2, 64, 30, magnitude: false), 2, 64, 7, magnitude: false);
        for (int i = 0; i < x.Length; i++) Assert.True(Math.Abs(direct[i] - composed[i]) < 2e-5, $"[{i}] {direct[i]} vs {composed[i]}");
    }

    [Fact]
    public void PureRotationPreservesNormsAndLeavesUnrotatedDimensions()
    {
        var p = new RopeParameters(32);
        var x = Enumerable.Range(0, 64).Select(i => (float)Math.Cos(i)).ToArray();
        var y = Rotate(p, x, 1, 64, 11, magnitude: false);
        Assert.Equal(Norm(x), Norm(y), 4);
        for (int i = 32; i < 64; i++) Assert.Equal(x[i], y[i]);
        Assert.Equal(x, Rotate(p, x, 1, 64, 0));
    }

    [Fact]
    public void NormalModeRotatesAdjacentPairsAndNeoXRotatesHalves()
    {
        var x = new float[8];
        x[0] = 1;
        var normal = Rotate(new RopeParameters(8), x, 1, 8, 1);
        var neox = Rotate(new RopeParameters(8, NeoX: true), x, 1, 8, 1);
        Assert.Equal(MathF.Cos(1), normal[0], 5);
        Assert.Equal(MathF.Sin(1), normal[1], 5);
        Assert.Equal(MathF.Cos(1), neox[0], 5);
        Assert.Equal(MathF.Sin(1), neox[4], 5);
        Assert.Equal(0, neox[1]);
    }

    [Fact]
    public void YarnScalesMagnitudeOnlyWhenAsked()
    {
        var p = new RopeParameters(64, FreqScale: 0.25f, ExtFactor: 1f, OriginalContext: 512);
        var x = Enumerable.Range(0, 64).Select(i => 1f).ToArray();
        float expected = 1f + 0.1f * MathF.Log(4f);
        Assert.Equal(Norm(x) * expected, Norm(Rotate(p, x, 1, 64, 5)), 3);
        Assert.Equal(Norm(x), Norm(Rotate(p, x, 1, 64, 5, magnitude: false)), 4);
    }

    private static double Norm(float[] v) => Math.Sqrt(v.Sum(a => (double)a * a));
}
