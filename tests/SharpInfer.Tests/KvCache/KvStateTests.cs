using System.Security.Cryptography;
using SharpInfer.KvCache;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.KvCache;

/// <summary>
/// KV state files without a model: rows are filled with a pattern of (sequence, position, layer), so a restore can
/// be checked cell by cell. Covers what the model-level tests cannot reach cheaply: streaming (no buffering of the
/// whole state), sequence ids beyond the cache's, and sizes in a file whose checksum is valid but whose counts lie.
/// </summary>
public sealed unsafe class KvStateTests : IDisposable
{
    private static readonly KvStateIdentity Identity = new("llama", "0123456789abcdef");
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-kvstate-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static KvCacheSet Cache(int cells, int sequences, int width = 64, int layers = 2) =>
        new(new KvCacheOptions { Cells = cells, TypeK = GgmlType.F32, TypeV = GgmlType.F32, MaxSequences = sequences },
            Enumerable.Repeat(new KvLayerSpec(new KvLayerShape(width, width, width, width)), layers).ToArray(), microBatch: 64);

    /// <summary>Gives <paramref name="seq"/> positions start..start+count−1 and fills their rows with the pattern.</summary>
    private static void Fill(KvCacheSet cache, int seq, int count, int start = 0, int salt = 0)
    {
        var positions = Enumerable.Range(start, count).ToArray();
        var placement = new KvPlacement(cache.Groups.Count, count);
        cache.Reserve(new UBatchView(positions, Enumerable.Range(0, count).ToArray(), Enumerable.Repeat(1, count).ToArray(), Enumerable.Repeat(seq, count).ToArray()), placement);
        var group = cache.Groups[0];
        for (int i = 0; i < count; i++)
        {
            var stream = group.Stream(placement.Streams[0][i]);
            for (int l = 0; l < group.Layers.Count; l++)
            {
                var k = new Span<float>(stream.KRow(l, placement.Cells[0][i]), group.Layers[l].KWidth);
                var v = new Span<float>(stream.VRow(l, placement.Cells[0][i]), group.Layers[l].VWidth);
                k.Fill(Pattern(seq, positions[i], l, salt));
                v.Fill(-Pattern(seq, positions[i], l, salt));
            }
        }
    }

    private static float Pattern(int seq, int pos, int layer, int salt) => seq * 1e4f + pos * 10f + layer + salt * 0.5f;

    /// <summary>Every (sequence, position) the cache holds, with its first K value per layer.</summary>
    private static List<(int Seq, int Pos, float K0, float K1)> Contents(KvCacheSet cache, int sequences)
    {
        var result = new List<(int, int, float, float)>();
        var group = cache.Groups[0];
        for (int seq = 0; seq < sequences; seq++)
        {
            var stream = group.StreamOf(seq);
            foreach (int cell in stream.Cells.CellsOf(seq))
            {
                result.Add((seq, stream.Cells.Position(cell), *(float*)stream.KRow(0, cell), *(float*)stream.KRow(1, cell)));
            }
        }
        return result;
    }

    [Fact]
    public void AWholeCacheRoundTripsThroughAStreamThatCannotSeek()
    {
        using var source = Cache(32, 2);
        Fill(source, 0, 5);
        Fill(source, 1, 3, start: 2);
        using var saved = new MemoryStream();
        KvState.Save(source, new WriteOnlyStream(saved), Identity);
        using var target = Cache(32, 2);
        Fill(target, 0, 9, salt: 1);
        KvState.Restore(target, new ReadOnlyForwardStream(saved.ToArray()), Identity);
        Assert.Equal(Contents(source, 2), Contents(target, 2));
    }

    [Fact]
    public void AWholeCacheWithSequencesThisCacheLacksIsRefusedAndNothingChanges()
    {
        using var source = Cache(32, 2);
        Fill(source, 0, 4);
        Fill(source, 1, 3);
        using var saved = new MemoryStream();
        KvState.Save(source, saved, Identity);

        using var target = Cache(32, 1);
        Fill(target, 0, 2, salt: 3);
        var before = Contents(target, 1);
        saved.Position = 0;
        var e = Assert.Throws<KvStateException>(() => KvState.Restore(target, saved, Identity));
        Assert.Contains("sequence 1", e.Message);
        Assert.Contains("--parallel 2", e.Message);
        Assert.Equal(before, Contents(target, 1));
        Assert.Equal(2, target.Used);
    }

    [Fact]
    public void ASequenceStateForASequenceThisCacheLacksIsRefused()
    {
        using var source = Cache(32, 4);
        Fill(source, 3, 4);
        using var saved = new MemoryStream();
        KvState.Save(source, saved, Identity, seq: 3);
        using var target = Cache(32, 2);
        saved.Position = 0;
        Assert.Contains("sequence 3", Assert.Throws<KvStateException>(() => KvState.Restore(target, saved, Identity)).Message);
        saved.Position = 0;
        KvState.Restore(target, saved, Identity, targetSeq: 1);
        Assert.Equal(Contents(source, 4).Select(c => (1, c.Pos, c.K0, c.K1)), Contents(target, 2));
    }

    /// <summary>
    /// A 64 MiB state saves to a file and restores from it with a few MiB of allocations: the state streams through
    /// instead of being gathered in memory (which also capped it at 2 GiB).
    /// </summary>
    [Fact]
    public void SaveAndRestoreStreamWithoutBufferingTheState()
    {
        const int cells = 512;
        using var source = Cache(cells, 1, width: 8192);
        Fill(source, 0, cells);
        string path = Path.Combine(_dir, "big.state");
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        using (var file = File.Create(path)) KvState.Save(source, file, Identity);
        long saveAllocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.True(new FileInfo(path).Length > 64L << 20);

        using var target = Cache(cells, 1, width: 8192);
        allocated = GC.GetAllocatedBytesForCurrentThread();
        using (var file = File.OpenRead(path)) KvState.Restore(target, file, Identity);
        long restoreAllocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.True(saveAllocated < 8 << 20, $"save allocated {saveAllocated} bytes");
        Assert.True(restoreAllocated < 8 << 20, $"restore allocated {restoreAllocated} bytes");
        Assert.Equal(Contents(source, 1), Contents(target, 1));
    }

    /// <summary>A file whose checksum is right but whose counts are not is refused before anything is allocated for them.</summary>
    [Fact]
    public void LyingCountsAndLengthsAreRefused()
    {
        using var source = Cache(16, 1);
        Fill(source, 0, 4);
        using var saved = new MemoryStream();
        KvState.Save(source, saved, Identity);
        byte[] bytes = saved.ToArray();
        int payload = PayloadStart(bytes);
        using var target = Cache(16, 1);

        var hugeCount = (byte[])bytes.Clone();
        BitConverter.TryWriteBytes(hugeCount.AsSpan(payload), int.MaxValue);
        Rehash(hugeCount, payload);
        Assert.Contains($"need {int.MaxValue}", Assert.Throws<KvStateException>(() => KvState.Restore(target, new MemoryStream(hugeCount), Identity)).Message);

        var fewerCells = (byte[])bytes.Clone();
        BitConverter.TryWriteBytes(fewerCells.AsSpan(payload), 3);
        Rehash(fewerCells, payload);
        Assert.Contains("payload size", Assert.Throws<KvStateException>(() => KvState.Restore(target, new MemoryStream(fewerCells), Identity)).Message);

        // The architecture name's length prefix (after magic, version, kind and sequence) claims 2 GiB.
        var longName = (byte[])bytes.Clone();
        new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x07 }.CopyTo(longName, 13);
        Assert.Contains("name", Assert.Throws<KvStateException>(() => KvState.Restore(target, new MemoryStream(longName), Identity)).Message);
        Assert.Equal(0, target.Used);
    }

    [Fact]
    public void StateFilesAreRecognisedByTheirMagic()
    {
        using var source = Cache(8, 1);
        using var saved = new MemoryStream();
        KvState.Save(source, saved, Identity);
        Assert.True(KvState.FileKind.Matches(saved.ToArray()));
        Assert.False(KvState.FileKind.Matches("GGUF"u8));
    }

    /// <summary>Where the payload starts: the 64-bit payload length just before it equals what follows minus the checksum.</summary>
    private static int PayloadStart(byte[] bytes)
    {
        for (int p = 8; p < bytes.Length - 32; p++)
        {
            if (BitConverter.ToInt64(bytes, p - 8) == bytes.Length - 32 - p) return p;
        }
        throw new InvalidOperationException("no payload found");
    }

    private static void Rehash(byte[] bytes, int payload) =>
        SHA256.HashData(bytes.AsSpan(payload, bytes.Length - 32 - payload)).CopyTo(bytes, bytes.Length - 32);

    private sealed class WriteOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }

    private sealed class ReadOnlyForwardStream(byte[] bytes) : Stream
    {
        private readonly MemoryStream _inner = new(bytes);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
