using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpInfer.Kernels;

/// <summary>
/// <c>vpermw</c> index vectors built from constants inside a kernel: a static readonly field would need a
/// class-initialisation check there, and the JIT spills the kernel's live vectors around it.
/// </summary>
internal static class PermuteIndex
{
    /// <summary>32 words: word 4k…4k+3 all equal to <paramref name="w0"/>…<paramref name="w7"/>'s k-th value.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<short> WordQuads(long w0, long w1, long w2, long w3, long w4, long w5, long w6, long w7)
    {
        const long words = 0x0001_0001_0001_0001;
        return Vector512.Create(w0 * words, w1 * words, w2 * words, w3 * words, w4 * words, w5 * words, w6 * words, w7 * words).AsInt16();
    }
}
