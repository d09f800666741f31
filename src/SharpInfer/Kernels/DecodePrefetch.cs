using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// How decode kernels read weights. Decode is one activation row against every weight row, so it is bound by how fast
/// one core pulls weights from memory, and a core only keeps a few dozen of its own misses in flight. Reading a row
/// quad as four interleaved streams (rows a few kilobytes apart) left that to software prefetches one quad ahead; the
/// hardware prefetchers never saw a stream long enough to follow. Reading the rows one after the other makes a
/// chunk of rows one sequential stream, and prefetching a fixed distance ahead in it keeps the memory busy.
/// Measured on tinyllama-shaped Q4_0 layers (2 threads): the whole layer stack's matrix products took about 22 % less
/// time than with the interleaved quads, and distances of 6–8 KiB did best (2 KiB gained little, 16 KiB lost a bit);
/// Q8_0 decode, whose rows are twice as long, kept its speed.
/// </summary>
internal static class DecodePrefetch
{
    /// <summary>Bytes between the line a decode kernel reads and the line it prefetches.</summary>
    public const int Distance = 8192;

    /// <summary>
    /// Prefetches, <see cref="Distance"/> ahead, every line of the <paramref name="bytes"/> a kernel is about to read at
    /// <paramref name="p"/>: addresses 64 bytes apart, and the next call starts at most 64 bytes after this one's last,
    /// so a row read in consecutive pieces skips no line whatever its alignment.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Ahead(byte* p, int bytes) => Lines(p + Distance, bytes);

    /// <summary>
    /// Prefetches every line of the <paramref name="bytes"/> at <paramref name="p"/>: addresses 64 bytes apart, so calls
    /// for consecutive pieces of a stream skip no line (the rule <see cref="Ahead"/> and the tiles' next-rows prefetch
    /// share). Into L1 (<c>prefetcht0</c>), or with <paramref name="intoL2"/> into L2 only (<c>prefetcht1</c>), for a
    /// kernel that spends long enough on what it reads now that L2's latency hides behind it; a constant argument,
    /// so the JIT keeps one instruction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Lines(byte* p, int bytes, bool intoL2 = false)
    {
        for (int line = 0; line < bytes; line += 64)
        {
            if (intoL2) Sse.Prefetch1(p + line);
            else Sse.Prefetch0(p + line);
        }
    }

    /// <summary>
    /// <see cref="Lines"/> for the <paramref name="bytes"/> at <paramref name="p"/> in each of <paramref name="rows"/>
    /// rows <paramref name="rowBytes"/> apart: the tiles read their rows side by side, short streams the hardware
    /// prefetchers do not follow, and fetch the rows they read next this way.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Rows(byte* p, long rowBytes, int rows, int bytes, bool intoL2 = false)
    {
        for (int r = 0; r < rows; r++, p += rowBytes) Lines(p, bytes, intoL2);
    }
}
