using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Kernels;

/// <summary>
/// The integer dot products against an independent reference: dequantize the weights and the 8-bit activations
/// to floats and sum in double. Exact up to float rounding of the block scales.
/// </summary>
public unsafe class QuantizedDotTests
{
    public static TheoryData<GgmlType> Types => new()
    {
        GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.IQ4_NL,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    };

    internal sealed class Case : IDisposable
    {
        public readonly int N;
        public readonly byte[] Weights;
        public readonly float[] Activations;
        public readonly NativeBuffer<sbyte> Qs;
        public readonly NativeBuffer<float> D;
        public readonly NativeBuffer<int> Sums;
        public readonly NativeBuffer<short> BSums;
        public readonly NativeBuffer<float> SumsScaled, BSumsScaled;
        public readonly Q8Row Row;

        public Case(GgmlType type, int n, int seed)
        {
            N = n;
            var r = new Random(seed);
            var w = Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1) * (r.Next(8) == 0 ? 3 : 1)).ToArray();
            Weights = new byte[GgmlTypeInfo.RowBytes(type, n)];
            Quantize.Row(type, w, Weights);
            Activations = Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 4 - 2)).ToArray();
            Qs = new NativeBuffer<sbyte>(n);
            D = new NativeBuffer<float>(n / 32 + 1);
            Sums = new NativeBuffer<int>(n / 32 + 1);
            BSums = new NativeBuffer<short>(n / 16 + 1);
            SumsScaled = new NativeBuffer<float>(n / 32 + 1);
            BSumsScaled = new NativeBuffer<float>(n / 16 + 1);
            Row = new Q8Row { Qs = Qs.Pointer, D = D.Pointer, Sums = Sums.Pointer, BSums = BSums.Pointer, SumsScaled = SumsScaled.Pointer, BSumsScaled = BSumsScaled.Pointer };
            fixed (float* a = Activations)
            {
                if (QuantizedDot.UsesSuperBlocks(type)) ActivationQuantizer.Quantize256(a, n, Row);
                else ActivationQuantizer.Quantize32(a, n, Row);
            }
        }

        public double Reference(GgmlType type)
        {
            var w = new float[N];
            Dequantize.Row(type, Weights, w);
            int block = QuantizedDot.UsesSuperBlocks(type) ? 256 : 32;
            double sum = 0;
            for (int i = 0; i < N; i++) sum += (double)w[i] * (Qs.Pointer[i] * D.Pointer[i / block]);
            return sum;
        }

        /// <summary>Σ|w·a| with the 8-bit activations: the scale of the rounding a float sum of them can make.</summary>
        public double QuantizedScale(GgmlType type)
        {
            var w = new float[N];
            Dequantize.Row(type, Weights, w);
            int block = QuantizedDot.UsesSuperBlocks(type) ? 256 : 32;
            double s = 0;
            for (int i = 0; i < N; i++) s += Math.Abs((double)w[i] * Qs.Pointer[i] * D.Pointer[i / block]);
            return s;
        }

        public void Dispose()
        {
            Qs.Dispose();
            D.Dispose();
            Sums.Dispose();
            BSums.Dispose();
            SumsScaled.Dispose();
            BSumsScaled.Dispose();
        }
    }

    /// <summary>
    /// The scalar twin and the kernel this CPU runs against the dequantized reference, 1 to 6 blocks: integer sums are
    /// exact, so only the float scaling of each block rounds (1e-5 of Σ|w·a|; a systematic scaling error of 0.1 % fails).
    /// </summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void ScalarAndFastestDotsEqualTheDequantizedReference(GgmlType type)
    {
        int block = QuantizedDot.UsesSuperBlocks(type) ? 256 : 32;
        for (int blocks = 1; blocks <= 6; blocks++)
        {
            using var c = new Case(type, blocks * block, blocks * 31 + (int)type);
            double expected = c.Reference(type), tolerance = 1e-5 * c.QuantizedScale(type) + 1e-6;
            fixed (byte* w = c.Weights)
            {
                float scalar = QuantizedDot.ScalarFor(type)(w, c.Row, c.N), fastest = QuantizedDot.For(type)(w, c.Row, c.N);
                Assert.True(Math.Abs(scalar - expected) <= tolerance, $"{type} scalar n={c.N}: {scalar} vs {expected}");
                Assert.True(Math.Abs(fastest - expected) <= tolerance, $"{type} fastest n={c.N}: {fastest} vs {expected}");
            }
        }
    }

    /// <summary>
    /// What the 8-bit activations guarantee: every value rounds to the nearest step of its block's scale d, so it is
    /// within |d|/2 of the float it came from, and |d| is the block's largest magnitude over 127 (Q8_K signs d so the
    /// extreme maps to −127 exactly).
    /// </summary>
    [Theory]
    [MemberData(nameof(Types))]
    public void QuantizedActivationsAreWithinHalfAStepOfTheFloats(GgmlType type)
    {
        int block = QuantizedDot.UsesSuperBlocks(type) ? 256 : 32;
        using var c = new Case(type, block * 8, 78);
        for (int b = 0; b < c.N / block; b++)
        {
            float d = Math.Abs(c.D.Pointer[b]);
            float amax = 0;
            for (int i = b * block; i < (b + 1) * block; i++) amax = Math.Max(amax, Math.Abs(c.Activations[i]));
            // Blocks of 32 store their scale in half precision as ggml's block_q8_0 does (values are quantized with
            // the exact scale first); Q8_K's blocks of 256 keep it in single precision.
            float exact = amax / 127;
            float expected = block == 32 ? (float)(Half)exact : exact;
            Assert.True(Math.Abs(d - expected) <= 1e-6 * amax, $"{type} block {b}: scale {d}, expected {expected} for largest value {amax}");
            double rounding = Math.Abs(d - exact) * 127;
            for (int i = b * block; i < (b + 1) * block; i++)
            {
                double error = Math.Abs(c.Qs.Pointer[i] * (double)c.D.Pointer[b] - c.Activations[i]);
                Assert.True(error <= exact / 2 * (1 + 1e-5) + rounding, $"{type} value {i}: {c.Activations[i]} became {c.Qs.Pointer[i]} × {d}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void SimdKernelsMatchTheirScalarTwins(GgmlType type)
    {
        var failures = KernelSelfCheck.CheckQuantizedKernels(type, blocks: 6, seed: 1000 + (int)type);
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void IntegerPathsAreBitExactWithUnitScales(GgmlType type)
    {
        var failures = KernelSelfCheck.CheckQuantizedKernelsExact(type, blocks: 6, seed: 2000 + (int)type);
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
    }

    /// <summary>The formats with a 16×8 tile on this CPU (the check has nothing to compare for the others).</summary>
    public static TheoryData<GgmlType> TileTypes()
    {
        var data = new TheoryData<GgmlType>();
        foreach (var type in KernelSelfCheck.QuantizedTypes)
        {
            if (QuantizedDot.KernelsFor(type).Tile16x8 != null) data.Add(type);
        }
        // Without AVX-512BW or AVX-VNNI there is no tile; the test then checks that Q4_0 indeed has none.
        if (data.Count == 0) data.Add(GgmlType.Q4_0);
        return data;
    }

    [Theory]
    [MemberData(nameof(TileTypes))]
    public void SixteenByEightTilesMatchTheirScalarTwins(GgmlType type)
    {
        // The child processes of InstructionSetFallbackTests check the tiles with instruction sets off; this is the
        // tile this machine runs. Q4_0 has a tile wherever the CPU has AVX-512BW or AVX-VNNI.
        if (QuantizedDot.KernelsFor(type).Tile16x8 == null)
        {
            Assert.False(System.Runtime.Intrinsics.X86.Avx512BW.IsSupported || System.Runtime.Intrinsics.X86.AvxVnni.IsSupported,
                $"{type} has no 16×8 tile on a CPU with AVX-512BW or AVX-VNNI");
            return;
        }
        var failures = KernelSelfCheck.CheckTile16x8(type, blocks: 6, seed: 3000 + (int)type);
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
    }

    [Fact]
    public void SimdActivationQuantizersMatchTheirScalarTwins()
    {
        var failures = KernelSelfCheck.CheckActivationQuantizers();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
