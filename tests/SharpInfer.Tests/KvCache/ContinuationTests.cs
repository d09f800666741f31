using SharpInfer.KvCache;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.KvCache;

/// <summary>KvCacheSet.WindowIsWhole: a kept prefix is usable only if every window group still holds what the next token sees.</summary>
public class ContinuationTests
{
    private static KvLayerShape Shape => new(8, 8, 8, 8);

    [Fact]
    public void APrefixIsUsableUnlessAWindowLayerHasPrunedWhatTheNextTokenSees()
    {
        var layers = new[] { new KvLayerSpec(Shape), new KvLayerSpec(Shape, 16) };
        using var set = new KvCacheSet(new KvCacheOptions { Cells = 128, TypeK = GgmlType.F32, TypeV = GgmlType.F32 }, layers, microBatch: 32);
        var placement = new KvPlacement(set.Groups.Count, 32);
        Decode(set, placement, 0, 20);
        Assert.True(set.WindowIsWhole(0, 5));
        // The second batch starts at 20, which sees 5..20: the window group prunes positions 0..4.
        Decode(set, placement, 20, 40);
        Assert.Equal(5, set.Groups[1].SeqPosMin(0));
        Assert.True(set.WindowIsWhole(0, 40));
        Assert.True(set.WindowIsWhole(0, 21));  // sees 6..21
        Assert.True(set.WindowIsWhole(0, 20));  // sees 5..20
        Assert.False(set.WindowIsWhole(0, 19)); // would need 4
        Assert.False(set.WindowIsWhole(0, 3));
        Assert.True(set.WindowIsWhole(0, 0));
        Assert.Equal(20, set.ResumePosition(0));
    }

    [Fact]
    public void WithoutWindowsAnyPrefixIsUsable()
    {
        using var set = new KvCacheSet(new KvCacheOptions { Cells = 64, TypeK = GgmlType.F32, TypeV = GgmlType.F32 }, [new KvLayerSpec(Shape)], microBatch: 32);
        Decode(set, new KvPlacement(1, 32), 0, 30);
        Assert.All(Enumerable.Range(0, 31), n => Assert.True(set.WindowIsWhole(0, n)));
    }

    private static void Decode(KvCacheSet set, KvPlacement placement, int from, int to)
    {
        int n = to - from;
        int[] positions = Enumerable.Range(from, n).ToArray();
        set.Reserve(new UBatchView(positions, Enumerable.Range(0, n).ToArray(), Enumerable.Repeat(1, n).ToArray(), new int[n]), placement);
    }
}
