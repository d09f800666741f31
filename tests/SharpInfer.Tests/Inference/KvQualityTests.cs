using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Inference;

public class KvQualityTests
{
    [Fact]
    public void Q8CacheStaysWithinAThousandthOfANatOfF16()
    {
        using var model = Model.Load(SharedData.Synth("F32"));
        var tokens = model.Tokenizer.Tokenize(KvQuality.DefaultText);
        var rows = KvQuality.Measure(model, tokens, GgmlType.F16, [GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0], threads: 2).ToDictionary(r => r.Type);
        Assert.Equal(0, rows[GgmlType.F16].MeanKl);
        Assert.Equal(1.0, rows[GgmlType.F16].Top1Agreement);
        Assert.True(rows[GgmlType.Q8_0].MeanKl < 1e-3, $"q8_0 mean KL {rows[GgmlType.Q8_0].MeanKl}");
        Assert.True(rows[GgmlType.Q4_0].MeanKl > rows[GgmlType.Q8_0].MeanKl);
        // 2 layers × (K + V) rows of 64 values: f16 2 bytes each, q8_0 34 bytes per 32.
        Assert.Equal(2 * 2 * 64 * 2, rows[GgmlType.F16].BytesPerToken);
        Assert.Equal(2 * 2 * 2 * 34, rows[GgmlType.Q8_0].BytesPerToken);
    }

    [Fact]
    public void KvQualityCommandPrintsATableForEveryUsableType()
    {
        var r = SharpInfer.Tests.Cli.CliRunner.Run("kv-quality", "-m", SharedData.Synth("F32"), "-p", "Once upon a time, there was a girl.");
        Assert.True(r.ExitCode == 0, r.Err);
        foreach (var t in new[] { "f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "iq4_nl" }) Assert.Contains($"| {t} |", r.Out);
        var stories = SharpInfer.Tests.Cli.CliRunner.Run("kv-quality", "-m", SharedData.Stories, "-p", "Once upon a time");
        Assert.DoesNotContain("q8_0", stories.Out);
    }

    /// <summary>
    /// A long text is measured a chunk at a time: progress after every chunk up to the total,
    /// and a cancellation observed before the next chunk.
    /// </summary>
    [Fact]
    public void LongTextsReportProgressAndCanBeCancelled()
    {
        using var model = Model.Load(SharedData.Synth("F32"));
        var tokens = model.Tokenizer.Tokenize(string.Concat(Enumerable.Repeat(KvQuality.DefaultText + " ", 3)));
        Assert.True(tokens.Length > 300);
        var reports = new List<(int Done, int Total)>();
        KvQuality.Measure(model, tokens, GgmlType.F16, [GgmlType.Q8_0], threads: 2, progress: (done, total) => reports.Add((done, total)));
        Assert.Equal((tokens.Length + 63) / 64, reports.Count);
        Assert.All(reports, r => Assert.Equal(tokens.Length, r.Total));
        Assert.Equal(reports.Select(r => r.Done).Order(), reports.Select(r => r.Done));
        Assert.Equal(tokens.Length, reports[^1].Done);

        using var cancel = new CancellationTokenSource();
        int seen = 0;
        Assert.ThrowsAny<OperationCanceledException>(() => KvQuality.Measure(model, tokens, GgmlType.F16, [GgmlType.Q8_0], threads: 2,
            progress: (_, _) => { seen++; cancel.Cancel(); }, cancellation: cancel.Token));
        Assert.Equal(1, seen);
    }
}
