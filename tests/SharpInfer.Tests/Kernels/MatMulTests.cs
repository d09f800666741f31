using SharpInfer.Kernels;
using SharpInfer.Tensors;
using SharpInfer.Threading;

namespace SharpInfer.Tests.Kernels;

public unsafe class MatMulTests
{
    private static readonly GgmlType[] Types =
    [
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0,
        GgmlType.Q5_1, GgmlType.IQ4_NL, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    ];

    /// <summary>
    /// Every weight type × token counts that take each path of <see cref="MatMul"/>: decode over guided row ranges (1),
    /// four-row decode and 4×4 tiles (5),
    /// exactly one 4×8 tile (8), tiles at later token quads plus a 4×4 and a single remainder (21), prefill panels with a
    /// short last quad (45; the K-quants' panels from 56 or 72 tokens: 70 for Q3_K/Q5_K, 131 for all), and more tokens
    /// than one L2 token block (70); for the 16×8 tiles of 4-bit formats a lone
    /// short tile (5), one full tile (8), short last tiles of 5 (21, 45) and 6 (70), and more tokens than their token
    /// block of 128 ending in a tile of 3 (131); for every 16×8 tile its two- and four-token forms (2, 4) and for the
    /// VNNI tiles of the other 32-element formats their eight-token form (5, 8). 37 rows: two whole 16-row tiles and
    /// five rows left for the four-row kernels.
    /// </summary>
    public static TheoryData<GgmlType, int> TypesAndTokens()
    {
        var data = new TheoryData<GgmlType, int>();
        foreach (var type in Types) foreach (int tokens in new[] { 1, 2, 4, 5, 8, 21, 45, 70, 131 }) data.Add(type, tokens);
        return data;
    }

    [Theory]
    [MemberData(nameof(TypesAndTokens))]
    public void EveryTokenAndRowMatchesTheRowDot(GgmlType type, int tokens)
    {
        const int rows = 37, cols = 512;
        var r = new Random((int)type * 100 + tokens);
        var w = Enumerable.Range(0, rows * cols).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray();
        var packed = new byte[GgmlTypeInfo.RowBytes(type, cols) * rows];
        for (int row = 0; row < rows; row++)
        {
            Quantize.Row(type, w.AsSpan(row * cols, cols), packed.AsSpan((int)(row * GgmlTypeInfo.RowBytes(type, cols))));
        }
        // Each token has its own magnitude, so a kernel that read another token's scales or sums would be far off.
        var x = Enumerable.Range(0, tokens * cols).Select(i => (float)((r.NextDouble() * 2 - 1) * (0.2 + 0.37 * (i / cols % 9)))).ToArray();
        var y = new float[tokens * rows];
        using var pool = new ComputePool(3);
        using var mm = new MatMul(tokens, cols, pool.ThreadCount);
        fixed (byte* wp = packed)
        fixed (float* xp = x)
        fixed (float* yp = y)
        {
            var view = new MatrixView(wp, type, rows, cols, "w");
            mm.Multiply(pool, view, xp, tokens, yp);
            // The integer paths multiply 8-bit activations (the scalar quantizer's bytes, which selftest holds the SIMD
            // quantizers to): the reference uses those same activations, so integer sums are exact and only the float
            // scaling rounds. A scaling error of even 0.1 % fails.
            var a = ReferenceActivations(type, x, tokens, cols);
            var deq = new float[cols];
            for (int t = 0; t < tokens; t++)
            {
                for (int row = 0; row < rows; row++)
                {
                    fixed (float* d = deq) view.DequantizeRow(row, d);
                    double exact = 0, scale = 0;
                    for (int c = 0; c < cols; c++)
                    {
                        exact += (double)deq[c] * a[t * cols + c];
                        scale += Math.Abs((double)deq[c] * a[t * cols + c]);
                    }
                    Assert.True(Math.Abs(y[t * rows + row] - exact) <= 1e-5 * scale + 1e-6, $"{type} token {t} row {row}: {y[t * rows + row]} vs {exact}");
                }
            }
        }
    }

    /// <summary>The activations as the products see them: dequantized 8-bit values for the integer paths, the floats otherwise.</summary>
    private static double[] ReferenceActivations(GgmlType type, float[] x, int tokens, int cols)
    {
        var result = x.Select(v => (double)v).ToArray();
        if (!QuantizedDot.IsQuantizedPath(type)) return result;
        bool super = QuantizedDot.UsesSuperBlocks(type);
        int block = super ? 256 : 32;
        using var q = new Q8Rows(tokens, cols);
        fixed (float* xp = x)
        {
            for (int t = 0; t < tokens; t++)
            {
                var row = q.Row(t, super);
                if (super) ActivationQuantizer.Quantize256Scalar(xp + (long)t * cols, cols, row);
                else ActivationQuantizer.Quantize32Scalar(xp + (long)t * cols, cols, row);
                for (int c = 0; c < cols; c++) result[t * cols + c] = (double)row.Qs[c] * row.D[c / block];
            }
        }
        return result;
    }

    private static byte[] RandomMatrix(GgmlType type, int rows, int cols, Random r)
    {
        var w = Enumerable.Range(0, rows * cols).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray();
        long rowBytes = GgmlTypeInfo.RowBytes(type, cols);
        var packed = new byte[rowBytes * rows];
        for (int row = 0; row < rows; row++) Quantize.Row(type, w.AsSpan(row * cols, cols), packed.AsSpan((int)(row * rowBytes)));
        return packed;
    }

    /// <summary>
    /// A group of products over shared activations (mixed types, row counts that are not multiples of four, so ranges
    /// cross from one matrix into the next mid-quad) gives the very numbers of the products run one by one, for decode
    /// and for a prefill-sized batch.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(48)]
    public void AGroupEqualsItsProductsOneByOne(int tokens)
    {
        const int cols = 512;
        var r = new Random(tokens);
        (GgmlType Type, int Rows)[] shapes = [(GgmlType.Q4_0, 37), (GgmlType.Q4_K, 13), (GgmlType.Q6_K, 9), (GgmlType.F16, 6)];
        var matrices = shapes.Select(s => RandomMatrix(s.Type, s.Rows, cols, r)).ToArray();
        var x = Enumerable.Range(0, tokens * cols).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var grouped = shapes.Select(s => new float[tokens * s.Rows]).ToArray();
        var single = shapes.Select(s => new float[tokens * s.Rows]).ToArray();
        using var pool = new ComputePool(2);
        using var mm = new MatMul(tokens, cols, pool.ThreadCount);
        var handles = matrices.Select(m => System.Runtime.InteropServices.GCHandle.Alloc(m, System.Runtime.InteropServices.GCHandleType.Pinned))
            .Concat(grouped.Concat(single).Select(o => System.Runtime.InteropServices.GCHandle.Alloc(o, System.Runtime.InteropServices.GCHandleType.Pinned))).ToArray();
        try
        {
            var views = shapes.Select((s, i) => new MatrixView((byte*)handles[i].AddrOfPinnedObject(), s.Type, s.Rows, cols, $"w{i}")).ToArray();
            fixed (float* xp = x)
            {
                var a = mm.Prepare(pool, xp, tokens, cols, shapes.Select(s => s.Type).ToArray());
                mm.Multiply(pool, views, a, shapes.Select((_, i) => handles[shapes.Length + i].AddrOfPinnedObject()).ToArray());
                for (int i = 0; i < shapes.Length; i++) mm.Multiply(pool, views[i], a, (float*)handles[2 * shapes.Length + i].AddrOfPinnedObject());
            }
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
        for (int i = 0; i < shapes.Length; i++) Assert.Equal(single[i], grouped[i]);
        Assert.Contains(grouped[0], v => v != 0);
    }

    [Fact]
    public void AGroupRejectsMismatchedOutputs()
    {
        using var pool = new ComputePool(1);
        using var mm = new MatMul(1, 32, 1);
        var x = new float[32];
        var w = RandomMatrix(GgmlType.Q8_0, 4, 32, new Random(1));
        fixed (float* xp = x)
        fixed (byte* wp = w)
        {
            var view = new MatrixView(wp, GgmlType.Q8_0, 4, 32, "w");
            var a = mm.Prepare(pool, xp, 1, 32, [GgmlType.Q8_0]);
            var e = Assert.Throws<ArgumentException>(() => mm.Multiply(pool, [view, view], a, [(nint)0]));
            Assert.Contains("2 matrices but 1 outputs", e.Message);
        }
    }
}
