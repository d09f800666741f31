using SharpInfer.Inference;
using SharpInfer.KvCache;
using SharpInfer.Models;
using SharpInfer.Tensors;
using Xunit.Abstractions;

namespace SharpInfer.Tests.KvCache;

/// <summary>The cache inside real forward passes: every way of filling it must give the logits a fresh computation gives.</summary>
public class KvCacheModelTests(KvCacheModelTests.Synth synth, ITestOutputHelper output) : IClassFixture<KvCacheModelTests.Synth>
{
    /// <summary>The synthetic F32 model, mapped once for the class and unmapped after its last test.</summary>
    public sealed class Synth : IDisposable
    {
        public Model Model { get; } = Model.Load(SharedData.Synth("F32"));
        public void Dispose() => Model.Dispose();
    }

    private readonly Synth _synth = synth;

    private static readonly int[] Text = [1, 322, 273, 437, 343, 376, 267, 344, 402, 411, 445, 270, 312, 265, 421, 299, 378, 307, 417, 330, 281, 274, 365, 444];

    private InferenceContext Context(int sequences = 1, GgmlType type = GgmlType.F32, bool unified = true, int ctx = 128) =>
        _synth.Model.CreateContext(new ContextOptions { ContextSize = ctx, TypeK = type, TypeV = type, MaxSequences = sequences, UnifiedKv = unified, Threads = 2 });

    private static float[][] Prefill(InferenceContext c, int[] tokens, int seq = 0, int startPos = 0)
    {
        var batch = new Batch(tokens.Length);
        for (int i = 0; i < tokens.Length; i++) batch.Add(tokens[i], startPos + i, seq, true);
        c.Decode(batch);
        return Enumerable.Range(0, tokens.Length).Select(i => c.GetOutputLogits(i).ToArray()).ToArray();
    }

    private static double MaxDiff(float[] a, float[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();

    [Fact]
    public void TokenByTokenEqualsOneBatchedPrefill()
    {
        using var batched = Context();
        using var single = Context();
        var all = Prefill(batched, Text);
        for (int i = 0; i < Text.Length; i++)
        {
            var one = Prefill(single, [Text[i]], 0, i)[0];
            Assert.True(MaxDiff(all[i], one) < 1e-4, $"position {i}: {MaxDiff(all[i], one)}");
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SequencesInOneBatchEqualEachAlone(bool unified)
    {
        var prompts = new[] { Text[..7], Text[5..16], Text[10..13], Text[2..20] };
        using var together = Context(sequences: 4, unified: unified);
        var batch = new Batch(64);
        for (int s = 0; s < prompts.Length; s++)
        {
            for (int i = 0; i < prompts[s].Length; i++) batch.Add(prompts[s][i], i, s, true);
        }
        together.Decode(batch);
        int row = 0;
        for (int s = 0; s < prompts.Length; s++)
        {
            using var alone = Context();
            var expected = Prefill(alone, prompts[s]);
            for (int i = 0; i < prompts[s].Length; i++, row++)
            {
                Assert.True(MaxDiff(expected[i], together.GetOutputLogits(row).ToArray()) < 1e-4, $"seq {s} pos {i}");
            }
        }
    }

    [Fact]
    public void AForkedPrefixWithTwoContinuationsEqualsTwoIndependentRuns()
    {
        var prefix = Text[..10];
        int[] a = [300, 301, 302, 303], b = [400, 401];
        using var forked = Context(sequences: 2);
        Prefill(forked, prefix);
        int used = forked.Kv.Used;
        forked.Kv.SeqCopy(0, 1, -1, -1);
        Assert.Equal(used, forked.Kv.Used);
        var batch = new Batch(8);
        for (int i = 0; i < a.Length; i++) batch.Add(a[i], 10 + i, 0, true);
        for (int i = 0; i < b.Length; i++) batch.Add(b[i], 10 + i, 1, true);
        forked.Decode(batch);
        Assert.Equal(used + a.Length + b.Length, forked.Kv.Used);
        using var runA = Context();
        using var runB = Context();
        var ea = Prefill(runA, [.. prefix, .. a])[10..];
        var eb = Prefill(runB, [.. prefix, .. b])[10..];
        for (int i = 0; i < a.Length; i++) Assert.True(MaxDiff(ea[i], forked.GetOutputLogits(i).ToArray()) < 1e-4);
        for (int i = 0; i < b.Length; i++) Assert.True(MaxDiff(eb[i], forked.GetOutputLogits(a.Length + i).ToArray()) < 1e-4);
    }

    /// <summary>
    /// In a one-layer model a cached key depends only on its token and position, so after removing a middle span and
    /// shifting the rest, re-rotated keys must equal keys computed fresh at the new positions. (With more layers the
    /// kept tokens' deeper keys and values were computed attending to the removed span, so no cache operation can
    /// equal a fresh run there; the uniform-shift test below covers depth.)
    /// </summary>
    [Theory]
    [InlineData(GgmlType.F32, 1e-3)]
    [InlineData(GgmlType.F16, 0.02)]
    [InlineData(GgmlType.BF16, 0.1)]
    [InlineData(GgmlType.Q8_0, 0.1)]
    [InlineData(GgmlType.Q4_0, 0.5)]
    public void RemovingAMiddleSpanAndShiftingMatchesAFreshComputation(GgmlType type, double bound)
    {
        using var oneLayer = OneLayerModel();
        InferenceContext Ctx() => oneLayer.CreateContext(new ContextOptions { ContextSize = 64, TypeK = type, TypeV = type, Threads = 2 });
        using var shifted = Ctx();
        Prefill(shifted, Text[..20]);
        shifted.Kv.SeqRemove(0, 5, 10);
        shifted.Kv.SeqAdd(0, 10, -1, -5);
        Assert.True(shifted.Kv.HasPendingShift);
        var after = Prefill(shifted, [Text[20]], 0, 15)[0];
        Assert.False(shifted.Kv.HasPendingShift);
        using var fresh = Ctx();
        var expected = Prefill(fresh, [.. Text[..5], .. Text[10..21]])[^1];
        double diff = MaxDiff(expected, after);
        output.WriteLine($"K/V {type}: max |Δlogit| after remove + shift vs fresh = {diff:E3} (std of logits {Std(expected):F3})");
        Assert.True(diff < bound, $"{type}: {diff}");
    }

    [Theory]
    [InlineData(GgmlType.F32, 1e-3)]
    [InlineData(GgmlType.Q8_0, 0.1)]
    public void ShiftingAWholeSequenceMatchesAFreshComputationAtAnyDepth(GgmlType type, double bound)
    {
        using var shifted = Context(type: type);
        Prefill(shifted, Text[..12]);
        shifted.Kv.SeqAdd(0, -1, -1, 9);
        var after = Prefill(shifted, [Text[12]], 0, 21)[0];
        using var fresh = Context(type: type);
        var expected = Prefill(fresh, Text[..13], 0, 9)[^1];
        double diff = MaxDiff(expected, after);
        output.WriteLine($"K/V {type}: max |Δlogit| after shifting everything by 9 = {diff:E3}");
        Assert.True(diff < bound, $"{type}: {diff}");
    }

    private static double Std(float[] v)
    {
        double mean = v.Average(x => (double)x);
        return Math.Sqrt(v.Average(x => (x - mean) * (x - mean)));
    }

    private static string? _oneLayerPath;

    /// <summary>The synthetic model cut down to its first block.</summary>
    internal static Model OneLayerModel()
    {
        lock (Text)
        {
            if (_oneLayerPath is null)
            {
                using var file = SharpInfer.Gguf.GgufFile.Open(SharedData.Synth("F32"));
                var w = new SharpInfer.Gguf.GgufWriter(file.Version);
                foreach (var (k, v) in file.Metadata) w.Metadata.Set(k, v);
                w.Metadata.Set("llama.block_count", SharpInfer.Gguf.GgufValue.FromUInt32(1));
                foreach (var t in file.Tensors.Where(t => !t.Name.StartsWith("blk.", StringComparison.Ordinal) || t.Name.StartsWith("blk.0.", StringComparison.Ordinal))) w.AddTensor(file, t);
                string path = Path.Combine(Path.GetTempPath(), $"sharpinfer-one-layer-{Environment.ProcessId}.gguf");
                w.Save(path);
                _oneLayerPath = path;
            }
            return Model.Load(_oneLayerPath);
        }
    }

    [Fact]
    public void SaveRestoreContinueEqualsAnUninterruptedRun()
    {
        using var first = Context(type: GgmlType.F16);
        Prefill(first, Text[..12]);
        using var saved = new MemoryStream();
        first.SaveState(saved, 0, Text[..12]);
        var expected = Prefill(first, Text[12..20], 0, 12);

        using var second = Context(type: GgmlType.F16);
        saved.Position = 0;
        var restored = second.LoadState(saved, 0);
        Assert.Equal(12, restored.Cells);
        Assert.Equal(Text[..12], restored.Tokens);
        var actual = Prefill(second, Text[12..20], 0, 12);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i]);
    }

    [Fact]
    public void WholeCacheStateRoundTripsSharedCells()
    {
        using var a = Context(sequences: 2);
        Prefill(a, Text[..8]);
        a.Kv.SeqCopy(0, 1, -1, -1);
        Prefill(a, [300, 301], 1, 8);
        using var stream = new MemoryStream();
        a.SaveState(stream);
        using var b = Context(sequences: 2);
        stream.Position = 0;
        b.LoadState(stream);
        Assert.Equal(a.Kv.Used, b.Kv.Used);
        var ea = Prefill(a, [302], 1, 10)[0];
        var eb = Prefill(b, [302], 1, 10)[0];
        Assert.Equal(ea, eb);
    }

    [Fact]
    public void RefusedRestoresLeaveTheCacheUntouched()
    {
        using var source = Context();
        Prefill(source, Text[..12]);
        using var state = new MemoryStream();
        source.SaveState(state, 0);
        byte[] bytes = state.ToArray();

        using var target = Context(ctx: 16);
        Prefill(target, Text[..8]);
        int used = target.Kv.Used;
        var logitsBefore = Prefill(target, [Text[8]], 0, 8)[0];
        target.Kv.SeqRemove(0, 8, -1);

        // Not enough free cells: 12 needed, 16 − 8 free plus the 8 of the target sequence itself… so use another sequence-free context.
        using var tiny = Context(ctx: 8);
        var full = Assert.Throws<KvStateException>(() => tiny.LoadState(new MemoryStream(bytes), 0));
        Assert.Contains("not enough free KV cells", full.Message);
        Assert.Equal(0, tiny.Kv.Used);

        var corrupt = (byte[])bytes.Clone();
        corrupt[^40] ^= 0xFF;
        Assert.Contains("checksum", Assert.Throws<KvStateException>(() => target.LoadState(new MemoryStream(corrupt), 0)).Message);
        Assert.Contains("truncated", Assert.Throws<KvStateException>(() => target.LoadState(new MemoryStream(bytes[..(bytes.Length / 2)]), 0)).Message);
        Assert.Contains("magic", Assert.Throws<KvStateException>(() => target.LoadState(new MemoryStream(new byte[64]), 0)).Message);

        using var otherModel = Model.Load(SharedData.Synth("Q8_0"));
        using var other = otherModel.CreateContext(new ContextOptions { ContextSize = 64, TypeK = GgmlType.F32, TypeV = GgmlType.F32 });
        Assert.Contains("another model", Assert.Throws<KvStateException>(() => other.LoadState(new MemoryStream(bytes), 0)).Message);

        using var f16 = Context(type: GgmlType.F16);
        Assert.Contains("stores K/V as f32/f32", Assert.Throws<KvStateException>(() => f16.LoadState(new MemoryStream(bytes), 0)).Message);

        Assert.Equal(used, target.Kv.Used);
        Assert.Equal(logitsBefore, Prefill(target, [Text[8]], 0, 8)[0]);
    }

    public static TheoryData<GgmlType, GgmlType, int, bool> SizeCases()
    {
        var data = new TheoryData<GgmlType, GgmlType, int, bool>();
        foreach (var t in KvCacheOptions.SupportedTypes) data.Add(t, t, 1, true);
        data.Add(GgmlType.Q8_0, GgmlType.F16, 4, true);
        data.Add(GgmlType.F16, GgmlType.Q4_0, 4, false);
        return data;
    }

    [Theory]
    [MemberData(nameof(SizeCases))]
    public void KvSizeAndReportAgreeWithTheBytesAllocated(GgmlType typeK, GgmlType typeV, int parallel, bool unified)
    {
        using var context = _synth.Model.CreateContext(new ContextOptions { ContextSize = 96, TypeK = typeK, TypeV = typeV, MaxSequences = parallel, UnifiedKv = unified });
        var r = Cli.CliRunner.Run("kv-size", "-m", SharedData.Synth("F32"), "-c", "96", "-ctk", typeK.ToString(), "-ctv", typeV.ToString(),
            "--parallel", parallel.ToString(), "--kv-unified", unified.ToString().ToLowerInvariant(), "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        using var doc = System.Text.Json.JsonDocument.Parse(r.Out);
        var root = doc.RootElement;
        Assert.Equal(context.Kv.KBytes, root.GetProperty("k_bytes").GetInt64());
        Assert.Equal(context.Kv.VBytes, root.GetProperty("v_bytes").GetInt64());
        Assert.Equal(context.Kv.TotalBytes, root.GetProperty("total_bytes").GetInt64());
        Assert.Equal(96, root.GetProperty("cells").GetInt32());
        Assert.Equal(parallel, root.GetProperty("seqs").GetInt32());
        // Exact formula: layers × cells × (row bytes of K + row bytes of V); 2 layers of 2 KV heads × 32 here.
        long expected = 2L * 96 * (GgmlTypeInfo.RowBytes(typeK, 64) + GgmlTypeInfo.RowBytes(typeV, 64));
        Assert.Equal(expected, context.Kv.TotalBytes);
        string line = context.Kv.Describe();
        Assert.StartsWith($"kv cache: {(expected / 1048576.0).ToString("F2", System.Globalization.CultureInfo.InvariantCulture)} MiB (96 cells, 2 layers, {parallel}/{(unified ? 1 : parallel)} seqs), K ({typeK.ToString().ToLowerInvariant()}):", line);
    }

    [Fact]
    public void QuantizedCacheNeedsHeadDimensionsOfWholeBlocks()
    {
        using var stories = Model.Load(SharedData.Stories);
        var e = Assert.Throws<ArgumentException>(() => stories.CreateContext(new ContextOptions { ContextSize = 32, TypeK = GgmlType.Q8_0 }));
        Assert.Contains("head dimension to be a multiple of 32", e.Message);
        var r = Cli.CliRunner.Run("run", "-m", SharedData.Stories, "-p", "Hi", "-ctv", "q4_0");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("multiple of 32", r.Err);
    }

    [Fact]
    public void DebugMapShowsOccupancy()
    {
        using var c = Context(sequences: 2);
        var writer = new StringWriter();
        c.KvDebugWriter = writer;
        Prefill(c, Text[..3]);
        c.Kv.SeqCopy(0, 1, 0, 1);
        Prefill(c, [9], 1, 3);
        string map = writer.ToString();
        Assert.Contains("kv step 1: used 3/128", map);
        Assert.Contains(" *001.", map);
    }
}
