using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Kernels;

/// <summary>
/// The block flash attention (many tokens × query heads sharing each widened tile, a cell range per token) against the
/// scalar twin run token by token on that token's own cells.
/// </summary>
public unsafe class FlashAttentionTests
{
    public static TheoryData<GgmlType, GgmlType, int, int, int> Cases => new()
    {
        { GgmlType.F16, GgmlType.F16, 8, 64, 64 },
        { GgmlType.F32, GgmlType.F32, 4, 64, 64 },
        { GgmlType.F16, GgmlType.F16, 1, 128, 128 },
        { GgmlType.F16, GgmlType.F16, 3, 64, 64 },
        { GgmlType.BF16, GgmlType.F16, 5, 32, 32 },
        { GgmlType.Q8_0, GgmlType.Q8_0, 6, 64, 64 },
        { GgmlType.Q4_0, GgmlType.IQ4_NL, 2, 64, 96 },
        { GgmlType.F32, GgmlType.F32, 2, 20, 12 },
        { GgmlType.F16, GgmlType.Q5_1, 9, 64, 64 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BlockEqualsScalarTwinTokenByToken(GgmlType typeK, GgmlType typeV, int group, int dimK, int dimV)
    {
        const int kvHeads = 2, cellsTotal = 150;
        var r = new Random(group * 131 + dimK);
        long kRow = GgmlTypeInfo.RowBytes(typeK, kvHeads * dimK), vRow = GgmlTypeInfo.RowBytes(typeV, kvHeads * dimV);
        var k = new byte[kRow * cellsTotal];
        var v = new byte[vRow * cellsTotal];
        for (int c = 0; c < cellsTotal; c++)
        {
            Quantize.Row(typeK, Floats(r, kvHeads * dimK, 1), k.AsSpan((int)(c * kRow)));
            Quantize.Row(typeV, Floats(r, kvHeads * dimV, 1), v.AsSpan((int)(c * vRow)));
        }
        var cells = Enumerable.Range(0, cellsTotal).OrderBy(_ => r.Next()).ToArray();
        int tokens = FlashAttention.MaxTokens;
        int heads = kvHeads * group;
        var q = Floats(r, tokens * heads * dimK, 3);
        // Ranges like a causal prefill, a sliding window, a token that sees nothing, and one that sees everything.
        var from = new int[tokens];
        var to = new int[tokens];
        for (int t = 0; t < tokens; t++)
        {
            to[t] = Math.Min(cellsTotal, 100 + 3 * t);
            from[t] = t % 4 == 1 ? to[t] - 37 : 0;
        }
        from[5] = to[5] = 60;
        from[6] = 0;
        to[6] = cellsTotal;
        var scratch = new float[FlashAttention.ScratchFloats(group, dimK, dimV) + 64];
        var outBlock = new float[tokens * heads * dimV];
        var outScalar = new float[tokens * heads * dimV];
        fixed (byte* kp = k)
        fixed (byte* vp = v)
        fixed (float* qp = q)
        fixed (float* sp = scratch)
        fixed (float* ob = outBlock)
        fixed (float* os = outScalar)
        fixed (int* fp = from)
        fixed (int* tp = to)
        {
            var view = new KvLayerView(kp, kRow, typeK, vp, vRow, typeV);
            foreach (int count in new[] { 1, 3, tokens })
            {
                for (int head = 0; head < kvHeads; head++)
                {
                    FlashAttention.Compute(qp + head * group * dimK, heads * dimK, count, group, dimK, dimV, view, head, cells, fp, tp, 0.17f,
                        ob + head * group * dimV, heads * dimV, sp);
                    for (int t = 0; t < count; t++)
                    {
                        Attention.ComputeScalar(qp + (t * heads + head * group) * dimK, group, dimK, dimV, view, head, cells.AsSpan(from[t], to[t] - from[t]), 0.17f,
                            os + (t * heads + head * group) * dimV);
                    }
                }
                for (int i = 0; i < count * heads * dimV; i++)
                {
                    Assert.True(Math.Abs(outBlock[i] - outScalar[i]) <= 2e-5 + 2e-5 * Math.Abs(outScalar[i]),
                        $"{typeK}/{typeV} group {group} tokens {count} [{i}] (token {i / (heads * dimV)}): {outBlock[i]} vs {outScalar[i]}");
                }
            }
        }
    }

    private static float[] Floats(Random r, int n, float scale) => Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1) * scale).ToArray();
}
