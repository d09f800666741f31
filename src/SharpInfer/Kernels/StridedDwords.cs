using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Dwords a fixed stride apart (one per weight row or block: their f16 scales and minimums) collected into one vector by
/// scalar loads and inserts. <c>vpgatherdd</c> does the same in one instruction, but on the AMD cores this engine is
/// measured on it is microcoded and costs about twelve cycles for eight dwords, several times these loads; in the
/// sixteen-row tiles it took about 13 % of the time.
/// </summary>
internal static unsafe class StridedDwords
{
    /// <summary>The dwords at <paramref name="p"/> + i·<paramref name="stride"/>, i = 0 … 3, in element i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<uint> Load4(byte* p, long stride) =>
        Vector128.Create(*(uint*)p, *(uint*)(p + stride), *(uint*)(p + 2 * stride), *(uint*)(p + 3 * stride));

    /// <summary>The dwords at <paramref name="p"/> + i·<paramref name="stride"/>, i = 0 … 7, in element i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<uint> Load8(byte* p, long stride) =>
        Vector256.Create(Load4(p, stride), Load4(p + 4 * stride, stride));

    /// <summary>The dwords at <paramref name="p"/> + i·<paramref name="stride"/>, i = 0 … 15, in element i (AVX-512F).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<uint> Load16(byte* p, long stride)
    {
        var v = Load4(p, stride).ToVector256Unsafe().ToVector512Unsafe();
        v = Avx512F.InsertVector128(v, Load4(p + 4 * stride, stride), 1);
        v = Avx512F.InsertVector128(v, Load4(p + 8 * stride, stride), 2);
        return Avx512F.InsertVector128(v, Load4(p + 12 * stride, stride), 3);
    }
}
