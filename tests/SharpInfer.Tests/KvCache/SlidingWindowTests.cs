using SharpInfer.KvCache;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.KvCache;

/// <summary>Window layers at the cache level: what a token sees, and that out-of-window cells are recycled.</summary>
public class SlidingWindowTests
{
    private static KvLayerShape Shape => new(8, 8, 8, 8);

    private static KvCacheGroup Group(int window, SlidingWindowType type, int cells, int seqs = 1, bool unified = true) =>
        new(new KvCacheOptions { Cells = cells, TypeK = GgmlType.F32, TypeV = GgmlType.F32, MaxSequences = seqs, Unified = unified, SlidingWindow = window, WindowType = type }, [Shape]);

    private static void Decode(KvCacheGroup cache, int seq, params int[] positions)
    {
        var start = Enumerable.Range(0, positions.Length).ToArray();
        var count = Enumerable.Repeat(1, positions.Length).ToArray();
        var ids = Enumerable.Repeat(seq, positions.Length).ToArray();
        cache.Reserve(new UBatchView(positions, start, count, ids), new int[positions.Length], new int[positions.Length]);
    }

    private static int[] VisiblePositions(KvCacheGroup cache, int seq, int pos)
    {
        var cells = cache.StreamOf(seq).Cells;
        return cache.VisibleCells(seq, pos).ToArray().Select(c => cells.Position(c)).ToArray();
    }

    [Fact]
    public void StandardWindowSeesTheLastWPositionsAndRecyclesTheRest()
    {
        const int window = 4;
        using var cache = Group(window, SlidingWindowType.Standard, cells: window + 1);
        for (int p = 0; p < 50; p++)
        {
            Decode(cache, 0, p);
            Assert.Equal(Enumerable.Range(Math.Max(0, p - window + 1), Math.Min(p + 1, window)), VisiblePositions(cache, 0, p));
            Assert.True(cache.Used <= window + 1);
        }
    }

    [Fact]
    public void ChunkedWindowSeesItsChunkOnly()
    {
        const int window = 4;
        using var cache = Group(window, SlidingWindowType.Chunked, cells: window + 1);
        for (int p = 0; p < 30; p++)
        {
            Decode(cache, 0, p);
            int chunk = p / window * window;
            Assert.Equal(Enumerable.Range(chunk, p - chunk + 1), VisiblePositions(cache, 0, p));
        }
    }

    [Fact]
    public void ABatchLongerThanTheWindowGetsCellsAndEachTokenSeesOnlyItsWindow()
    {
        const int window = 4, ubatch = 12;
        using var cache = Group(window, SlidingWindowType.Standard, cells: window + ubatch);
        Decode(cache, 0, Enumerable.Range(0, ubatch).ToArray());
        for (int p = 0; p < ubatch; p++) Assert.Equal(Enumerable.Range(Math.Max(0, p - window + 1), Math.Min(p + 1, window)), VisiblePositions(cache, 0, p));
        Decode(cache, 0, Enumerable.Range(ubatch, ubatch).ToArray());
        Assert.True(cache.Used <= window + ubatch);
        Assert.Equal([20, 21, 22, 23], VisiblePositions(cache, 0, 23));
    }

    [Fact]
    public void SequencesShareAWindowPoolWithoutSeeingEachOther()
    {
        const int window = 3;
        using var cache = Group(window, SlidingWindowType.Standard, cells: 2 * window + 2, seqs: 2);
        for (int p = 0; p < 20; p++)
        {
            Decode(cache, 0, p);
            Decode(cache, 1, p);
            foreach (int s in new[] { 0, 1 })
            {
                var cells = cache.StreamOf(s).Cells;
                foreach (int c in cache.VisibleCells(s, p)) Assert.True(cells.HasSequence(c, s));
                Assert.Equal(Math.Min(p + 1, window), cache.VisibleCells(s, p).Length);
            }
        }
    }

    [Fact]
    public void AFullWindowPoolRefusesWithoutChangingAnything()
    {
        using var cache = Group(8, SlidingWindowType.Standard, cells: 4);
        Decode(cache, 0, 0, 1, 2);
        var e = Assert.Throws<KvCacheFullException>(() => Decode(cache, 0, 3, 4));
        Assert.Contains("need 2 cells", e.Message);
        Assert.Equal(3, cache.Used);
        Assert.Equal([0, 1, 2], VisiblePositions(cache, 0, 2));
    }

    [Fact]
    public void ASetGroupsLayersByWindowAndPlacesEveryTokenInEachGroup()
    {
        var layers = new[]
        {
            new KvLayerSpec(Shape), new KvLayerSpec(Shape, 16), new KvLayerSpec(Shape), new KvLayerSpec(Shape, 16), new KvLayerSpec(Shape, 8, SlidingWindowType.Chunked),
        };
        using var set = new KvCacheSet(new KvCacheOptions { Cells = 256, TypeK = GgmlType.F16, TypeV = GgmlType.F16 }, layers, microBatch: 32);
        Assert.Equal(3, set.Groups.Count);
        Assert.Equal(256, set.Groups[0].Capacity);
        Assert.Equal(2, set.Groups[0].Layers.Count);
        Assert.Equal(8 + 32, set.Groups[1].Capacity);
        Assert.Equal(16 + 32, set.Groups[2].Capacity);
        Assert.Equal(1, set.Layer(4).Group);
        Assert.Equal(2, set.Layer(1).Group);
        Assert.Equal(1, set.Layer(3).LocalLayer);
        var placement = new KvPlacement(3, 64);
        int[] positions = Enumerable.Range(0, 20).ToArray();
        set.Reserve(new UBatchView(positions, positions, Enumerable.Repeat(1, 20).ToArray(), new int[20]), placement);
        Assert.Equal(20, set.Groups[0].Used);
        Assert.Equal(20, set.Groups[2].Used);
        Assert.Contains("kv cache (window 16):", set.Describe());
        long expected = (2L * 256 + 1L * 40 + 2L * 48) * 2 * 8 * 2;
        Assert.Equal(expected, set.TotalBytes);
    }
}
