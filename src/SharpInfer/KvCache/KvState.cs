using System.Security.Cryptography;
using System.Text;
using SharpInfer.Tensors;

namespace SharpInfer.KvCache;

/// <summary>Who a saved cache belongs to: restoring into a different model is refused.</summary>
/// <param name="Architecture">Model architecture.</param>
/// <param name="Fingerprint">Fingerprint of the weights.</param>
public readonly record struct KvStateIdentity(string Architecture, string Fingerprint);

/// <summary>A state file is corrupt, foreign or does not fit; the cache was left untouched.</summary>
public sealed class KvStateException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KvStateException(string message) : base(message)
    {
    }
}

/// <summary>
/// Saves and restores KV cache contents — one sequence or the whole cache — in a versioned binary format:
/// a header naming the model (architecture, layer count, every layer's K/V widths and types, a fingerprint of the
/// weights), the cell metadata, the rows, and a SHA-256 of the payload. A restore reads and verifies the whole
/// file before it changes anything, so a bad file is refused with its reason and never half-loaded.
/// </summary>
public static unsafe class KvState
{
    private const uint Magic = 0x564B4953; // "SIKV"
    private const uint Version = 1;

    /// <summary>
    /// Writes the cells of <paramref name="seq"/> (or of every sequence when −1), with an optional token list (the
    /// text the cells hold, for prompt caches). Pending key shifts are saved with their cells.
    /// </summary>
    public static void Save(KvCacheSet cache, Stream output, KvStateIdentity identity, int seq = -1, ReadOnlySpan<int> tokens = default)
    {
        using var payload = new MemoryStream();
        using (var pw = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
        {
            foreach (var group in cache.Groups) WriteGroup(pw, group, seq);
        }
        var w = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(Version);
        w.Write(seq < 0 ? (byte)0 : (byte)1);
        w.Write(seq);
        w.Write(identity.Architecture);
        w.Write(identity.Fingerprint);
        w.Write(cache.LayerCount);
        w.Write(cache.Groups.Count);
        foreach (var g in cache.Groups) WriteGroupHeader(w, g);
        w.Write(tokens.Length);
        foreach (int t in tokens) w.Write(t);
        w.Write(payload.Length);
        payload.Position = 0;
        payload.CopyTo(output);
        w.Write(SHA256.HashData(payload.ToArray()));
        w.Flush();
    }

    private static void WriteGroupHeader(BinaryWriter w, KvCacheGroup g)
    {
        w.Write(g.Options.SlidingWindow);
        w.Write((byte)g.Options.WindowType);
        w.Write(g.StreamCount);
        w.Write(g.Layers.Count);
        for (int l = 0; l < g.Layers.Count; l++)
        {
            w.Write(g.Layers[l].KWidth);
            w.Write(g.Layers[l].VWidth);
            w.Write((uint)g.Options.TypeK);
            w.Write((uint)g.Options.TypeV);
        }
    }

    private static void WriteGroup(BinaryWriter w, KvCacheGroup g, int seq)
    {
        var cells = new List<(int Stream, int Cell)>();
        for (int s = 0; s < g.StreamCount; s++)
        {
            var pool = g.Stream(s).Cells;
            if (seq >= 0)
            {
                if (g.StreamIndexOf(seq) != s) continue;
                foreach (int c in pool.CellsOf(seq)) cells.Add((s, c));
            }
            else
            {
                for (int c = 0; c < pool.Size; c++) if (!pool.IsFree(c)) cells.Add((s, c));
            }
        }
        w.Write(cells.Count);
        foreach (var (s, c) in cells)
        {
            var pool = g.Stream(s).Cells;
            w.Write(s);
            w.Write(pool.Position(c));
            w.Write(pool.PendingShift(c));
            if (seq < 0)
            {
                foreach (ulong word in pool.SequenceBits(c)) w.Write(word);
            }
        }
        for (int l = 0; l < g.Layers.Count; l++)
        {
            foreach (var (s, c) in cells)
            {
                var stream = g.Stream(s);
                w.Write(new ReadOnlySpan<byte>(stream.KRow(l, c), (int)stream.KRowBytes[l]));
            }
            if (g.Layers[l].VWidth == 0) continue;
            foreach (var (s, c) in cells)
            {
                var stream = g.Stream(s);
                w.Write(new ReadOnlySpan<byte>(stream.VRow(l, c), (int)stream.VRowBytes[l]));
            }
        }
    }

    /// <summary>What a restore brought back.</summary>
    public sealed record RestoreResult(int Cells, int[] Tokens);

    /// <summary>
    /// Restores a state saved by <see cref="Save"/>. A whole-cache state replaces the cache's contents; a sequence
    /// state replaces the contents of <paramref name="targetSeq"/> (its cells are released first). Throws
    /// <see cref="KvStateException"/> — with the cache unchanged — for a corrupt file, another model, another layout,
    /// or too few free cells.
    /// </summary>
    public static RestoreResult Restore(KvCacheSet cache, Stream input, KvStateIdentity identity, int targetSeq = -1)
    {
        byte[] bytes;
        using (var copy = new MemoryStream())
        {
            input.CopyTo(copy);
            bytes = copy.ToArray();
        }
        using var ms = new MemoryStream(bytes, writable: false);
        var r = new BinaryReader(ms, Encoding.UTF8);
        try
        {
            return RestoreFrom(cache, r, bytes, identity, targetSeq);
        }
        catch (EndOfStreamException)
        {
            throw new KvStateException("state file is truncated");
        }
        catch (IOException e) when (e is not EndOfStreamException)
        {
            throw new KvStateException($"state file is unreadable: {e.Message}");
        }
    }

    private sealed record CellRecord(int Stream, int Pos, int Shift, ulong[]? Seqs);

    private static RestoreResult RestoreFrom(KvCacheSet cache, BinaryReader r, byte[] bytes, KvStateIdentity identity, int targetSeq)
    {
        if (bytes.Length < 8 || r.ReadUInt32() != Magic) throw new KvStateException("not a SharpInfer KV state file (bad magic)");
        uint version = r.ReadUInt32();
        if (version != Version) throw new KvStateException($"KV state version {version} is not supported (expected {Version})");
        byte kind = r.ReadByte();
        int savedSeq = r.ReadInt32();
        if (kind > 1) throw new KvStateException($"unknown KV state kind {kind}");
        bool whole = kind == 0;
        if (whole && targetSeq >= 0) throw new KvStateException("the file holds the whole cache, not one sequence");
        if (!whole && targetSeq < 0) targetSeq = savedSeq;
        string arch = r.ReadString();
        string fingerprint = r.ReadString();
        if (arch != identity.Architecture || fingerprint != identity.Fingerprint)
        {
            throw new KvStateException($"the state was saved with another model ({arch}, weights {fingerprint}); this model is {identity.Architecture}, weights {identity.Fingerprint}");
        }
        int layers = r.ReadInt32();
        if (layers != cache.LayerCount) throw new KvStateException($"the state has {layers} layers, the model {cache.LayerCount}");
        int groups = r.ReadInt32();
        if (groups != cache.Groups.Count) throw new KvStateException($"the state has {groups} cache groups, this cache {cache.Groups.Count}");
        for (int g = 0; g < groups; g++)
        {
            var group = cache.Groups[g];
            int window = r.ReadInt32();
            var windowType = (SlidingWindowType)r.ReadByte();
            int streams = r.ReadInt32();
            int groupLayers = r.ReadInt32();
            if (window != group.Options.SlidingWindow || (window > 0 && windowType != group.Options.WindowType))
            {
                throw new KvStateException($"cache group {g} has window {window} in the state, {group.Options.SlidingWindow} here");
            }
            if (whole && streams != group.StreamCount) throw new KvStateException($"the state has {streams} cell pools, this cache {group.StreamCount} (save and restore with the same --kv-unified and --parallel)");
            if (groupLayers != group.Layers.Count) throw new KvStateException($"cache group {g} has {groupLayers} layers in the state, {group.Layers.Count} here");
            for (int l = 0; l < groupLayers; l++)
            {
                int kw = r.ReadInt32(), vw = r.ReadInt32();
                var tk = (GgmlType)r.ReadUInt32();
                var tv = (GgmlType)r.ReadUInt32();
                if (kw != group.Layers[l].KWidth || vw != group.Layers[l].VWidth)
                {
                    throw new KvStateException($"layer {l}: the state has K/V widths {kw}/{vw}, the model {group.Layers[l].KWidth}/{group.Layers[l].VWidth}");
                }
                if (tk != group.Options.TypeK || tv != group.Options.TypeV)
                {
                    throw new KvStateException($"the state stores K/V as {tk.ToString().ToLowerInvariant()}/{tv.ToString().ToLowerInvariant()}, this cache as {group.Options.TypeK.ToString().ToLowerInvariant()}/{group.Options.TypeV.ToString().ToLowerInvariant()}");
                }
            }
        }
        int tokenCount = r.ReadInt32();
        if (tokenCount < 0 || tokenCount > (bytes.Length - r.BaseStream.Position) / 4) throw new KvStateException("state file is truncated (token list)");
        var tokens = new int[tokenCount];
        for (int i = 0; i < tokenCount; i++) tokens[i] = r.ReadInt32();
        long payloadLength = r.ReadInt64();
        long payloadStart = r.BaseStream.Position;
        if (payloadLength < 0 || payloadStart + payloadLength + 32 != bytes.Length) throw new KvStateException("state file is truncated or has trailing bytes");
        var hash = SHA256.HashData(bytes.AsSpan((int)payloadStart, (int)payloadLength));
        if (!hash.AsSpan().SequenceEqual(bytes.AsSpan((int)(payloadStart + payloadLength), 32))) throw new KvStateException("state file is corrupt (checksum mismatch)");

        // Plan: read every group's cell records and choose destination cells before changing anything.
        var records = new List<CellRecord>[groups];
        var targets = new int[groups][];
        var rowsAt = new long[groups];
        for (int g = 0; g < groups; g++)
        {
            var group = cache.Groups[g];
            int count = r.ReadInt32();
            if (count < 0) throw new KvStateException("state file is corrupt (negative cell count)");
            records[g] = new List<CellRecord>(count);
            for (int i = 0; i < count; i++)
            {
                int stream = r.ReadInt32(), pos = r.ReadInt32(), shift = r.ReadInt32();
                ulong[]? seqs = null;
                if (whole)
                {
                    seqs = new ulong[4];
                    for (int k = 0; k < 4; k++) seqs[k] = r.ReadUInt64();
                    if (stream < 0 || stream >= group.StreamCount) throw new KvStateException($"state cell refers to pool {stream}, this cache has {group.StreamCount}");
                }
                if (pos < 0) throw new KvStateException("state file is corrupt (negative position)");
                records[g].Add(new CellRecord(stream, pos, shift, seqs));
            }
            targets[g] = PlanTargets(group, records[g], whole, targetSeq);
            rowsAt[g] = r.BaseStream.Position;
            long rowBytes = 0;
            for (int l = 0; l < group.Layers.Count; l++)
            {
                var stream0 = group.Stream(0);
                rowBytes += (stream0.KRowBytes[l] + stream0.VRowBytes[l]) * count;
            }
            r.BaseStream.Position += rowBytes;
        }

        // Commit.
        if (whole) cache.Clear();
        else cache.SeqRemove(targetSeq, -1, -1);
        for (int g = 0; g < groups; g++)
        {
            var group = cache.Groups[g];
            var recs = records[g];
            int destStream = whole ? -1 : group.StreamIndexOf(targetSeq);
            for (int i = 0; i < recs.Count; i++)
            {
                var pool = group.Stream(whole ? recs[i].Stream : destStream).Cells;
                int cell = targets[g][i];
                pool.Occupy(cell, recs[i].Pos, recs[i].Shift);
                if (whole)
                {
                    for (int s = 0; s < KvCells.MaxSequences; s++)
                    {
                        if ((recs[i].Seqs![s >> 6] & (1UL << (s & 63))) != 0) pool.AddSequence(cell, s);
                    }
                }
                else
                {
                    pool.AddSequence(cell, targetSeq);
                }
            }
            r.BaseStream.Position = rowsAt[g];
            for (int l = 0; l < group.Layers.Count; l++)
            {
                for (int i = 0; i < recs.Count; i++)
                {
                    var stream = group.Stream(whole ? recs[i].Stream : destStream);
                    r.BaseStream.ReadExactly(new Span<byte>(stream.KRow(l, targets[g][i]), (int)stream.KRowBytes[l]));
                }
                if (group.Layers[l].VWidth == 0) continue;
                for (int i = 0; i < recs.Count; i++)
                {
                    var stream = group.Stream(whole ? recs[i].Stream : destStream);
                    r.BaseStream.ReadExactly(new Span<byte>(stream.VRow(l, targets[g][i]), (int)stream.VRowBytes[l]));
                }
            }
        }
        return new RestoreResult(records[0].Count, tokens);
    }

    /// <summary>Destination cells for the records, counting the cells the restore will release as free.</summary>
    private static int[] PlanTargets(KvCacheGroup group, List<CellRecord> records, bool whole, int targetSeq)
    {
        var result = new int[records.Count];
        for (int s = 0; s < group.StreamCount; s++)
        {
            var pool = group.Stream(s).Cells;
            if (!whole && group.StreamIndexOf(targetSeq) != s) continue;
            int needed = 0;
            foreach (var rec in records) if (whole ? rec.Stream == s : true) needed++;
            if (needed == 0) continue;
            int next = 0;
            for (int i = 0; i < records.Count; i++)
            {
                if (whole && records[i].Stream != s) continue;
                while (next < pool.Size && !Reusable(pool, next, whole, targetSeq)) next++;
                if (next >= pool.Size)
                {
                    int available = 0;
                    for (int c = 0; c < pool.Size; c++) if (Reusable(pool, c, whole, targetSeq)) available++;
                    throw new KvStateException($"not enough free KV cells to restore: need {needed}, {available} available (n_ctx = {pool.Size})");
                }
                result[i] = next++;
            }
        }
        return result;
    }

    private static bool Reusable(KvCells pool, int cell, bool whole, int targetSeq) =>
        whole || pool.IsFree(cell) || (pool.SequenceCount(cell) == 1 && pool.HasSequence(cell, targetSeq));
}
