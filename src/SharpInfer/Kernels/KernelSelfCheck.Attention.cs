using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

public static unsafe partial class KernelSelfCheck
{
    /// <summary>
    /// Cache layouts the attention check covers: (K type, V type, query heads per KV head, K and V head sizes).
    /// Head sizes that are not a multiple of 8 take the kernel's scalar path.
    /// </summary>
    public static readonly (GgmlType TypeK, GgmlType TypeV, int Group, int DimK, int DimV)[] AttentionCases =
    [
        (GgmlType.F16, GgmlType.F16, 8, 64, 64),
        (GgmlType.F32, GgmlType.F32, 4, 64, 64),
        (GgmlType.F16, GgmlType.F16, 1, 128, 128),
        (GgmlType.F16, GgmlType.F16, 3, 64, 64),
        (GgmlType.BF16, GgmlType.F16, 5, 32, 32),
        (GgmlType.Q8_0, GgmlType.Q8_0, 6, 64, 64),
        (GgmlType.Q4_0, GgmlType.IQ4_NL, 2, 64, 96),
        (GgmlType.Q5_0, GgmlType.Q4_1, 3, 64, 64),
        (GgmlType.F32, GgmlType.F32, 2, 20, 12),
        (GgmlType.F16, GgmlType.Q5_1, 9, 64, 64),
    ];

    /// <summary>Every case of <see cref="AttentionCases"/>.</summary>
    public static List<string> CheckAttention()
    {
        var failures = new List<string>();
        foreach (var c in AttentionCases) failures.AddRange(CheckAttention(c.TypeK, c.TypeV, c.Group, c.DimK, c.DimV));
        // Gemma 2's logit softcap, on the vector path (head sizes multiple of 8) and on the scalar one.
        failures.AddRange(CheckAttention(GgmlType.F16, GgmlType.F16, 2, 32, 32, softcap: 1.5f));
        failures.AddRange(CheckAttention(GgmlType.F32, GgmlType.F32, 2, 20, 12, softcap: 1.5f));
        foreach (var c in ValuesInKeysCases) failures.AddRange(CheckAttention(c.Type, c.Type, c.Group, c.DimK, c.DimV, valuesInKeys: true));
        return failures;
    }

    /// <summary>
    /// Latent (MLA) cache layouts: values read from the first elements of the key rows, widened once
    /// (type, query heads, K and V head sizes).
    /// </summary>
    public static readonly (GgmlType Type, int Group, int DimK, int DimV)[] ValuesInKeysCases =
    [
        (GgmlType.F16, 8, 96, 64),
        (GgmlType.F32, 4, 96, 64),
        (GgmlType.Q8_0, 8, 96, 64),
        (GgmlType.F16, 3, 40, 32),
    ];

    /// <summary>
    /// <see cref="FlashAttention"/> against <see cref="Attention.ComputeScalar"/> run token by token on each token's
    /// own cells: one token over every cell count around the tile size (0, 1, 31, 32, 33, …), then blocks of 1, 3 and
    /// 16 tokens with ranges like a causal prefill, a sliding window, a token that sees nothing and one that sees all.
    /// With <paramref name="valuesInKeys"/> the values are the first <paramref name="dimV"/> elements of each key head
    /// (<see cref="KvLayerView.ValuesInKeys"/>, as a latent MLA cache reads them).
    /// </summary>
    public static List<string> CheckAttention(GgmlType typeK, GgmlType typeV, int group, int dimK, int dimV, float softcap = 0f, bool valuesInKeys = false)
    {
        const int kvHeads = 2, cellsTotal = 150;
        var failures = new List<string>();
        var r = new Random(group * 131 + dimK);
        long kRow = GgmlTypeInfo.RowBytes(typeK, kvHeads * dimK), vRow = GgmlTypeInfo.RowBytes(typeV, kvHeads * dimV);
        var k = new byte[kRow * cellsTotal];
        var v = new byte[vRow * cellsTotal];
        for (int c = 0; c < cellsTotal; c++)
        {
            Quantize.Row(typeK, RandomFloats(r, kvHeads * dimK, outliers: false), k.AsSpan((int)(c * kRow)));
            Quantize.Row(typeV, RandomFloats(r, kvHeads * dimV, outliers: false), v.AsSpan((int)(c * vRow)));
        }
        var cells = Enumerable.Range(0, cellsTotal).OrderBy(_ => r.Next()).ToArray();
        int tokens = FlashAttention.MaxTokens;
        int heads = kvHeads * group;
        var q = RandomFloats(r, tokens * heads * dimK, outliers: false).Select(x => 3 * x).ToArray();
        var scratch = new float[FlashAttention.ScratchFloats(group, dimK, dimV) + 64];
        var outBlock = new float[tokens * heads * dimV];
        var outScalar = new float[tokens * heads * dimV];
        var from = new int[tokens];
        var to = new int[tokens];
        string what = $"FlashAttention {typeK}/{typeV} group {group} dims {dimK}/{dimV} softcap {softcap}{(valuesInKeys ? " values in keys" : "")}";
        void Compare(int count, string label)
        {
            fixed (byte* kp = k)
            fixed (byte* vp = v)
            fixed (float* qp = q)
            fixed (float* sp = scratch)
            fixed (float* ob = outBlock)
            fixed (float* os = outScalar)
            fixed (int* fp = from)
            fixed (int* tp = to)
            {
                var view = valuesInKeys ? KvLayerView.ValuesInKeys(kp, kRow, typeK) : new KvLayerView(kp, kRow, typeK, vp, vRow, typeV);
                for (int head = 0; head < kvHeads; head++)
                {
                    FlashAttention.Compute(qp + head * group * dimK, heads * dimK, count, group, dimK, dimV, view, head, cells, fp, tp, 0.17f,
                        ob + head * group * dimV, heads * dimV, sp, softcap);
                    for (int t = 0; t < count; t++)
                    {
                        Attention.ComputeScalar(qp + (t * heads + head * group) * dimK, group, dimK, dimV, view, head,
                            cells.AsSpan(from[t], to[t] - from[t]), 0.17f, os + (t * heads + head * group) * dimV, softcap);
                    }
                }
            }
            for (int i = 0; i < count * heads * dimV; i++)
            {
                if (Math.Abs(outBlock[i] - outScalar[i]) <= 2e-5 + 2e-5 * Math.Abs(outScalar[i])) continue;
                failures.Add($"{what} {label} [{i}] (token {i / (heads * dimV)}): {outBlock[i]} vs {outScalar[i]}");
                return;
            }
        }

        foreach (int n in new[] { 0, 1, 2, 31, 32, 33, 64, 65, 100, cellsTotal })
        {
            from[0] = 0;
            to[0] = n;
            Compare(1, $"one token over {n} cells");
        }
        for (int t = 0; t < tokens; t++)
        {
            to[t] = Math.Min(cellsTotal, 100 + 3 * t);
            from[t] = t % 4 == 1 ? to[t] - 37 : 0;
        }
        from[5] = to[5] = 60;
        from[6] = 0;
        to[6] = cellsTotal;
        foreach (int count in new[] { 1, 3, tokens }) Compare(count, $"{count} tokens");
        return failures;
    }
}
