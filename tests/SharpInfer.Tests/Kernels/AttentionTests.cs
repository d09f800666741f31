using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Kernels;

/// <summary>The tiled online-softmax attention against its scalar twin that materialises every score.</summary>
public unsafe class AttentionTests
{
    public static TheoryData<GgmlType, GgmlType> CacheTypes => new()
    {
        { GgmlType.F32, GgmlType.F32 }, { GgmlType.F16, GgmlType.F16 }, { GgmlType.BF16, GgmlType.F16 },
        { GgmlType.Q8_0, GgmlType.Q8_0 }, { GgmlType.Q4_0, GgmlType.Q4_1 }, { GgmlType.Q5_0, GgmlType.IQ4_NL },
        { GgmlType.F16, GgmlType.Q5_1 },
    };

    [Theory]
    [MemberData(nameof(CacheTypes))]
    public void TiledEqualsScalarForAnyNumberOfCells(GgmlType typeK, GgmlType typeV)
    {
        const int kvHeads = 2, group = 3, hd = 64, cellsTotal = 80;
        var r = new Random(11);
        long kRow = GgmlTypeInfo.RowBytes(typeK, kvHeads * hd), vRow = GgmlTypeInfo.RowBytes(typeV, kvHeads * hd);
        var k = new byte[kRow * cellsTotal];
        var v = new byte[vRow * cellsTotal];
        for (int c = 0; c < cellsTotal; c++)
        {
            var kf = Enumerable.Range(0, kvHeads * hd).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
            var vf = Enumerable.Range(0, kvHeads * hd).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
            Quantize.Row(typeK, kf, k.AsSpan((int)(c * kRow)));
            Quantize.Row(typeV, vf, v.AsSpan((int)(c * vRow)));
        }
        var q = Enumerable.Range(0, group * hd).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var order = Enumerable.Range(0, cellsTotal).OrderBy(_ => r.Next()).ToArray();
        var scratch = new float[Attention.ScratchFloats(group, hd, hd)];
        fixed (byte* kp = k)
        fixed (byte* vp = v)
        fixed (float* qp = q)
        fixed (float* sp = scratch)
        {
            var view = new KvLayerView(kp, kRow, typeK, vp, vRow, typeV);
            foreach (int n in new[] { 0, 1, 2, 31, 32, 33, 64, 65, 80 })
            {
                for (int head = 0; head < kvHeads; head++)
                {
                    var tiled = new float[group * hd];
                    var scalar = new float[group * hd];
                    fixed (float* tp = tiled)
                    fixed (float* cp = scalar)
                    {
                        Attention.Compute(qp, group, hd, hd, view, head, order.AsSpan(0, n), 0.125f, tp, sp);
                        Attention.ComputeScalar(qp, group, hd, hd, view, head, order.AsSpan(0, n), 0.125f, cp);
                    }
                    for (int i = 0; i < tiled.Length; i++) Assert.True(Math.Abs(tiled[i] - scalar[i]) <= 2e-5, $"{typeK}/{typeV} n={n} head {head} [{i}]: {tiled[i]} vs {scalar[i]}");
                }
            }
        }
    }
}
