using System.Security.Cryptography;
using System.Text;
using SharpInfer.Files;
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

    /// <summary>Creates the exception, saying whether the state is sound and only the cache lacked free cells.</summary>
    public KvStateException(string message, bool outOfCells) : base(message) => OutOfCells = outOfCells;

    /// <summary>The state is sound but the cache lacked free cells for it (freeing some and retrying may work).</summary>
    public bool OutOfCells { get; }
}

/// <summary>
/// Saves and restores KV cache contents — one sequence or the whole cache — in a versioned binary format:
/// a header naming the model (architecture, layer count, every layer's K/V widths and types, a fingerprint of the
/// weights), the cell metadata, the rows, and a SHA-256 of the payload. Both directions stream: memory does not grow
/// with the state's size (a cache of many GiB saves and restores in a few MiB), and every size in the file is
/// checked against the file's length and the cache before it is used. A restore verifies the checksum and the
/// whole layout before it changes anything, so a bad file is refused with its reason and never half-loaded.
/// </summary>
public static unsafe class KvState
{
    private const uint Magic = 0x564B4953; // "SIKV"
    private const uint Version = 1;
    private const int HashBytes = 32;
    private const int MaxNameBytes = 4096;
    private const int SequenceWords = KvCells.MaxSequences / 64;

    /// <summary>State files as <see cref="OutputFile"/> recognises them (by the magic): the only files a state save replaces.</summary>
    public static FileKind FileKind { get; } = new("SharpInfer KV state file", "SIKV"u8);

    /// <summary>
    /// Writes the cells of <paramref name="seq"/> (or of every sequence when −1), with an optional token list (the
    /// text the cells hold, for prompt caches). Pending key shifts are saved with their cells.
    /// </summary>
    public static void Save(KvCacheSet cache, Stream output, KvStateIdentity identity, int seq = -1, ReadOnlySpan<int> tokens = default)
    {
        bool whole = seq < 0;
        var cells = new List<(int Stream, int Cell)>[cache.Groups.Count];
        long payloadLength = 0;
        for (int g = 0; g < cells.Length; g++)
        {
            cells[g] = CellsToSave(cache.Groups[g], seq);
            payloadLength = checked(payloadLength + GroupPayloadBytes(cache.Groups[g], cells[g].Count, whole));
        }
        using (var w = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(Version);
            w.Write(whole ? (byte)0 : (byte)1);
            w.Write(seq);
            w.Write(identity.Architecture);
            w.Write(identity.Fingerprint);
            w.Write(cache.LayerCount);
            w.Write(cache.Groups.Count);
            foreach (var g in cache.Groups) WriteGroupHeader(w, g);
            w.Write(tokens.Length);
            foreach (int t in tokens) w.Write(t);
            w.Write(payloadLength);
        }
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var hashing = new ObservedStream(output, hash.AppendData);
        using (var buffered = new BufferedStream(hashing, 1 << 16))
        using (var pw = new BinaryWriter(buffered, Encoding.UTF8, leaveOpen: true))
        {
            for (int g = 0; g < cells.Length; g++) WriteGroup(pw, cache.Groups[g], cells[g], whole);
        }
        if (hashing.Written != payloadLength) throw new InvalidOperationException($"KV state payload is {hashing.Written} bytes, {payloadLength} were announced");
        output.Write(hash.GetHashAndReset());
        output.Flush();
    }

    /// <summary>
    /// Saves to a file by the rules of <see cref="OutputFile"/>: only a state file (or nothing) at
    /// <paramref name="path"/> is replaced, never one of <paramref name="inputs"/> (the model); the state goes through a
    /// fsynced temporary file that <paramref name="cancellation"/> or a failure removes. For prompt caches and saved
    /// slots.
    /// </summary>
    public static void SaveFile(KvCacheSet cache, string path, KvStateIdentity identity, int seq = -1, int[]? tokens = null,
        CancellationToken cancellation = default, IEnumerable<string?>? inputs = null) =>
        OutputFile.Write(path, FileKind, stream => Save(cache, stream, identity, seq, tokens), cancellation, inputs);

    /// <summary>Restores from a file (see <see cref="Restore"/>); a file that is not a state file is refused as such.</summary>
    public static RestoreResult RestoreFile(KvCacheSet cache, string path, KvStateIdentity identity, int targetSeq = -1)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Restore(cache, stream, identity, targetSeq);
    }

    private static List<(int Stream, int Cell)> CellsToSave(KvCacheGroup g, int seq)
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
        return cells;
    }

    /// <summary>Bytes a group's part of the payload takes: its cell count, the cell records, then every layer's rows.</summary>
    private static long GroupPayloadBytes(KvCacheGroup g, long cells, bool whole) =>
        checked(sizeof(int) + cells * (RecordBytes(whole) + RowBytesPerCell(g)));

    /// <summary>Bytes of one cell record: pool, position, pending shift, and (whole cache) the sequence bits.</summary>
    private static long RecordBytes(bool whole) => 3 * sizeof(int) + (whole ? SequenceWords * sizeof(ulong) : 0);

    /// <summary>Bytes of one cell's K and V rows over the group's layers.</summary>
    private static long RowBytesPerCell(KvCacheGroup g)
    {
        long rows = 0;
        var stream = g.Stream(0);
        for (int l = 0; l < g.Layers.Count; l++) rows = checked(rows + stream.KRowBytes[l] + stream.VRowBytes[l]);
        return rows;
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

    private static void WriteGroup(BinaryWriter w, KvCacheGroup g, List<(int Stream, int Cell)> cells, bool whole)
    {
        w.Write(cells.Count);
        foreach (var (s, c) in cells)
        {
            var pool = g.Stream(s).Cells;
            w.Write(s);
            w.Write(pool.Position(c));
            w.Write(pool.PendingShift(c));
            if (whole)
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
    /// sequences this cache does not have, or too few free cells. A stream that cannot seek is first copied to a
    /// temporary file (the state is read twice: once to verify it, once to load it).
    /// </summary>
    public static RestoreResult Restore(KvCacheSet cache, Stream input, KvStateIdentity identity, int targetSeq = -1)
    {
        if (!input.CanSeek)
        {
            using var spool = new FileStream(Path.GetTempFileName(), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
            input.CopyTo(spool);
            spool.Position = 0;
            return Restore(cache, spool, identity, targetSeq);
        }
        try
        {
            return RestoreFrom(cache, input, identity, targetSeq);
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

    private sealed record Header(bool Whole, int TargetSeq, int[] Tokens);

    private static RestoreResult RestoreFrom(KvCacheSet cache, Stream input, KvStateIdentity identity, int targetSeq)
    {
        long end = input.Length;
        var r = new BinaryReader(input, Encoding.UTF8, leaveOpen: true);
        var header = ReadHeader(r, cache, identity, targetSeq, end);
        long payloadLength = r.ReadInt64();
        long payloadStart = input.Position;
        if (payloadLength < 0 || payloadLength != end - payloadStart - HashBytes) throw new KvStateException("state file is truncated or has trailing bytes");
        VerifyChecksum(input, payloadStart, payloadLength);
        input.Position = payloadStart;

        // Plan: read every group's cell records and choose destination cells before changing anything.
        int groups = cache.Groups.Count;
        var records = new List<CellRecord>[groups];
        var targets = new int[groups][];
        var rowsAt = new long[groups];
        for (int g = 0; g < groups; g++)
        {
            var group = cache.Groups[g];
            records[g] = ReadCellRecords(r, group, header);
            targets[g] = PlanTargets(group, records[g], header.Whole, header.TargetSeq);
            rowsAt[g] = input.Position;
            long rowBytes = checked(records[g].Count * RowBytesPerCell(group));
            if (rowBytes > payloadStart + payloadLength - input.Position) throw new KvStateException("state file is corrupt (rows run past the payload)");
            input.Position += rowBytes;
        }
        if (input.Position != payloadStart + payloadLength) throw new KvStateException("state file is corrupt (payload size does not match its cells)");

        Commit(cache, input, header, records, targets, rowsAt);
        // Window groups hold less of a sequence than the full group: what they had recycled stays known as such.
        cache.MarkRecycledAfterRestore();
        return new RestoreResult(records[0].Count, header.Tokens);
    }

    private static Header ReadHeader(BinaryReader r, KvCacheSet cache, KvStateIdentity identity, int targetSeq, long end)
    {
        if (end < 8 || r.ReadUInt32() != Magic) throw new KvStateException("not a SharpInfer KV state file (bad magic)");
        uint version = r.ReadUInt32();
        if (version != Version) throw new KvStateException($"KV state version {version} is not supported (expected {Version})");
        byte kind = r.ReadByte();
        int savedSeq = r.ReadInt32();
        if (kind > 1) throw new KvStateException($"unknown KV state kind {kind}");
        bool whole = kind == 0;
        if (whole && targetSeq >= 0) throw new KvStateException("the file holds the whole cache, not one sequence");
        if (!whole && targetSeq < 0) targetSeq = savedSeq;
        int maxSeqs = cache.Options.MaxSequences;
        if (!whole && (uint)targetSeq >= (uint)maxSeqs)
        {
            throw new KvStateException($"the state is for sequence {targetSeq}, outside this cache's sequences 0..{maxSeqs - 1}");
        }
        string arch = ReadName(r), fingerprint = ReadName(r);
        if (arch != identity.Architecture || fingerprint != identity.Fingerprint)
        {
            throw new KvStateException($"the state was saved with another model ({SafeText.Escape(arch)}, weights {SafeText.Escape(fingerprint)}); this model is {identity.Architecture}, weights {identity.Fingerprint}");
        }
        int layers = r.ReadInt32();
        if (layers != cache.LayerCount) throw new KvStateException($"the state has {layers} layers, the model {cache.LayerCount}");
        int groups = r.ReadInt32();
        if (groups != cache.Groups.Count) throw new KvStateException($"the state has {groups} cache groups, this cache {cache.Groups.Count}");
        for (int g = 0; g < groups; g++) CheckGroupHeader(r, cache.Groups[g], g, whole);
        int tokenCount = r.ReadInt32();
        if (tokenCount < 0 || tokenCount > (end - r.BaseStream.Position) / sizeof(int)) throw new KvStateException("state file is truncated (token list)");
        var tokens = new int[tokenCount];
        for (int i = 0; i < tokenCount; i++) tokens[i] = r.ReadInt32();
        return new Header(whole, targetSeq, tokens);
    }

    private static void CheckGroupHeader(BinaryReader r, KvCacheGroup group, int g, bool whole)
    {
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
                throw new KvStateException($"the state stores K/V as {TypeName(tk)}/{TypeName(tv)}, this cache as {TypeName(group.Options.TypeK)}/{TypeName(group.Options.TypeV)}");
            }
        }
    }

    private static string TypeName(GgmlType type) => GgmlTypeInfo.IsKnown(type) ? type.ToString().ToLowerInvariant() : $"type {(uint)type}";

    /// <summary>A string of the header, read with a bound (the format's own length prefix could ask for 2 GiB).</summary>
    private static string ReadName(BinaryReader r)
    {
        int length;
        try
        {
            length = r.Read7BitEncodedInt();
        }
        catch (FormatException)
        {
            throw new KvStateException("state file is corrupt (bad string length)");
        }
        if (length is < 0 or > MaxNameBytes) throw new KvStateException($"state file is corrupt (a {length}-byte name)");
        var bytes = r.ReadBytes(length);
        if (bytes.Length != length) throw new EndOfStreamException();
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Hashes the payload as it streams past and compares with the stored SHA-256.</summary>
    private static void VerifyChecksum(Stream input, long payloadStart, long payloadLength)
    {
        input.Position = payloadStart;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        for (long left = payloadLength; left > 0;)
        {
            int n = input.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) throw new EndOfStreamException();
            hash.AppendData(buffer, 0, n);
            left -= n;
        }
        Span<byte> stored = stackalloc byte[HashBytes];
        input.ReadExactly(stored);
        if (!hash.GetHashAndReset().AsSpan().SequenceEqual(stored)) throw new KvStateException("state file is corrupt (checksum mismatch)");
    }

    /// <summary>
    /// A group's cell records, each checked against this cache: a pool it has, a non-negative position, and for a
    /// whole-cache state at least one sequence, every one of them a sequence this cache has and held by that pool,
    /// and no position twice in a sequence.
    /// </summary>
    private static List<CellRecord> ReadCellRecords(BinaryReader r, KvCacheGroup group, Header header)
    {
        int count = r.ReadInt32();
        int room = header.Whole ? group.Capacity : group.StreamOf(header.TargetSeq).Cells.Size;
        if (count < 0) throw new KvStateException("state file is corrupt (negative cell count)");
        if (count > room) throw new KvStateException($"not enough free KV cells to restore: need {count}, the cache has {room}");
        var records = new List<CellRecord>(count);
        var seen = new HashSet<(int Seq, int Pos)>();
        int maxSeqs = group.Options.MaxSequences;
        for (int i = 0; i < count; i++)
        {
            int stream = r.ReadInt32(), pos = r.ReadInt32(), shift = r.ReadInt32();
            if (pos < 0) throw new KvStateException("state file is corrupt (negative position)");
            ulong[]? seqs = null;
            if (header.Whole)
            {
                seqs = new ulong[SequenceWords];
                for (int k = 0; k < SequenceWords; k++) seqs[k] = r.ReadUInt64();
                if (stream < 0 || stream >= group.StreamCount) throw new KvStateException($"state cell refers to pool {stream}, this cache has {group.StreamCount}");
                CheckSequences(seqs, stream, pos, group, maxSeqs, seen);
            }
            else if (!seen.Add((header.TargetSeq, pos)))
            {
                throw new KvStateException($"state file is corrupt (position {pos} twice in one sequence)");
            }
            records.Add(new CellRecord(stream, pos, shift, seqs));
        }
        return records;
    }

    private static void CheckSequences(ulong[] seqs, int stream, int pos, KvCacheGroup group, int maxSeqs, HashSet<(int Seq, int Pos)> seen)
    {
        bool any = false;
        for (int s = 0; s < KvCells.MaxSequences; s++)
        {
            if ((seqs[s >> 6] & (1UL << (s & 63))) == 0) continue;
            any = true;
            if (s >= maxSeqs)
            {
                throw new KvStateException($"the state holds sequence {s}, outside this cache's sequences 0..{maxSeqs - 1} (restore with at least --parallel {s + 1})");
            }
            if (group.StreamIndexOf(s) != stream) throw new KvStateException($"state file is corrupt (sequence {s} in pool {stream})");
            if (!seen.Add((s, pos))) throw new KvStateException($"state file is corrupt (position {pos} twice in sequence {s})");
        }
        if (!any) throw new KvStateException("state file is corrupt (a saved cell without a sequence)");
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
            foreach (var rec in records) if (!whole || rec.Stream == s) needed++;
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
                    throw new KvStateException($"not enough free KV cells to restore: need {needed}, {available} available (n_ctx = {pool.Size})", outOfCells: true);
                }
                result[i] = next++;
            }
        }
        return result;
    }

    private static bool Reusable(KvCells pool, int cell, bool whole, int targetSeq) =>
        whole || pool.IsFree(cell) || (pool.SequenceCount(cell) == 1 && pool.HasSequence(cell, targetSeq));

    /// <summary>Replaces the cache's (or the sequence's) contents with the planned cells, then streams the rows into them.</summary>
    private static void Commit(KvCacheSet cache, Stream input, Header header, List<CellRecord>[] records, int[][] targets, long[] rowsAt)
    {
        bool whole = header.Whole;
        int targetSeq = header.TargetSeq;
        if (whole) cache.Clear();
        else cache.SeqRemove(targetSeq, -1, -1);
        for (int g = 0; g < records.Length; g++)
        {
            var group = cache.Groups[g];
            var recs = records[g];
            int destStream = whole ? -1 : group.StreamIndexOf(targetSeq);
            for (int i = 0; i < recs.Count; i++)
            {
                var pool = group.Stream(whole ? recs[i].Stream : destStream).Cells;
                int cell = targets[g][i];
                pool.Occupy(cell, recs[i].Pos, recs[i].Shift);
                if (!whole)
                {
                    pool.AddSequence(cell, targetSeq);
                    continue;
                }
                for (int s = 0; s < KvCells.MaxSequences; s++)
                {
                    if ((recs[i].Seqs![s >> 6] & (1UL << (s & 63))) != 0) pool.AddSequence(cell, s);
                }
            }
            input.Position = rowsAt[g];
            for (int l = 0; l < group.Layers.Count; l++)
            {
                for (int i = 0; i < recs.Count; i++)
                {
                    var stream = group.Stream(whole ? recs[i].Stream : destStream);
                    input.ReadExactly(new Span<byte>(stream.KRow(l, targets[g][i]), (int)stream.KRowBytes[l]));
                }
                if (group.Layers[l].VWidth == 0) continue;
                for (int i = 0; i < recs.Count; i++)
                {
                    var stream = group.Stream(whole ? recs[i].Stream : destStream);
                    input.ReadExactly(new Span<byte>(stream.VRow(l, targets[g][i]), (int)stream.VRowBytes[l]));
                }
            }
        }
    }
}
