using System.Runtime.InteropServices;
using SharpInfer.KvCache;

namespace SharpInfer.Inference;

/// <summary>What a slot save wrote.</summary>
/// <param name="Tokens">Tokens whose cells were saved.</param>
/// <param name="Bytes">Bytes written to the stream.</param>
public sealed record SlotSaveResult(int Tokens, long Bytes);

// Slots: sequence ids 0..MaxRunningSequences − 1. A slot remembers the tokens of the last choice that ran in it (or
// runs in it now), so its cells can be saved to a state file and restored into the prefix cache later.
public sealed partial class GenerationScheduler
{
    /// <summary>
    /// Writes the cells of slot <paramref name="slot"/> with their tokens (a sequence state of
    /// <see cref="InferenceContext.SaveState"/>): the running choice's evaluated tokens, or for an idle slot the part of
    /// its last tokens the prefix cache still holds. <see cref="InvalidOperationException"/> when nothing is cached.
    /// </summary>
    public Task<SlotSaveResult> SaveSlotAsync(int slot, Stream output) => OnEngineAsync(() =>
    {
        CheckSlot(slot);
        long start = output.CanSeek ? output.Position : 0;
        int tokens;
        if (_slotOwner[slot] is { Seq: >= 0, Past: > 0 } owner)
        {
            tokens = owner.Past;
            _context.SaveState(output, owner.Seq, CollectionsMarshal.AsSpan(owner.Tokens)[..tokens]);
        }
        else
        {
            tokens = SaveCachedPrefix(slot, output);
        }
        output.Flush();
        return new SlotSaveResult(tokens, output.CanSeek ? output.Position - start : 0);
    });

    private int SaveCachedPrefix(int slot, Stream output)
    {
        var cache = _prefixCache ?? throw new NotSupportedException("slot files need the prefix cache, which this model's cache (sliding-window layers) does not have");
        var last = _slotTokens[slot];
        if (last is null || last.Length == 0) throw new InvalidOperationException($"slot {slot} holds no cached tokens");
        var lease = cache.Acquire(last, last.Length, _scratchSeq);
        try
        {
            if (lease.Length == 0) throw new InvalidOperationException($"slot {slot}'s tokens are no longer cached");
            _context.SaveState(output, _scratchSeq, last.AsSpan(0, lease.Length));
            return lease.Length;
        }
        finally
        {
            cache.Release(lease);
            _kv.SeqRemove(_scratchSeq, -1, -1);
        }
    }

    /// <summary>
    /// Restores a sequence state saved with its tokens into the prefix cache, so the next request that starts with
    /// those tokens takes them, and makes them slot <paramref name="slot"/>'s tokens. Returns the tokens restored.
    /// When the cache lacks free cells, unused cached prefixes are evicted first. <see cref="KvStateException"/> for a
    /// bad or foreign file (the cache unchanged).
    /// </summary>
    public Task<int> RestoreSlotAsync(int slot, Stream input)
    {
        // Read on the caller's thread: the engine should not wait for the disk.
        var bytes = new MemoryStream();
        input.CopyTo(bytes);
        return OnEngineAsync(() =>
        {
            CheckSlot(slot);
            var cache = _prefixCache ?? throw new NotSupportedException("slot files need the prefix cache, which this model's cache (sliding-window layers) does not have");
            KvState.RestoreResult restored;
            try
            {
                restored = _context.LoadState(new MemoryStream(bytes.GetBuffer(), 0, (int)bytes.Length, writable: false), _scratchSeq);
            }
            catch (KvStateException e) when (e.OutOfCells && cache.EvictableCells > 0)
            {
                // Only a shortage of cells is worth the cached prefixes; a foreign or corrupt file keeps them.
                cache.EvictAll();
                restored = _context.LoadState(new MemoryStream(bytes.GetBuffer(), 0, (int)bytes.Length, writable: false), _scratchSeq);
            }
            try
            {
                int n = restored.Tokens.Length;
                if (n == 0 || restored.Cells != n || _kv.SeqPosMin(_scratchSeq) != 0 || _kv.SeqPosMax(_scratchSeq) != n - 1)
                {
                    throw new KvStateException("the state does not hold a prefix from position 0 with its tokens, so it cannot serve as a slot");
                }
                cache.Insert(_scratchSeq, restored.Tokens);
                _slotTokens[slot] = restored.Tokens;
                return n;
            }
            finally
            {
                _kv.SeqRemove(_scratchSeq, -1, -1);
            }
        });
    }

    /// <summary>Evicts slot <paramref name="slot"/>'s cached tokens where no other prefix or running sequence uses them; returns the cells freed.</summary>
    public Task<int> EraseSlotAsync(int slot) => OnEngineAsync(() =>
    {
        CheckSlot(slot);
        if (_slotOwner[slot] is not null) throw new InvalidOperationException($"slot {slot} is busy");
        var last = _slotTokens[slot];
        _slotTokens[slot] = null;
        return last is null || _prefixCache is null ? 0 : _prefixCache.Erase(last);
    });

    private void CheckSlot(int slot)
    {
        if ((uint)slot >= (uint)MaxRunningSequences) throw new ArgumentOutOfRangeException(nameof(slot), $"slot {slot} is outside 0..{MaxRunningSequences - 1}");
    }
}
