using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Integer dot products of K-quant super-blocks with Q8_K activations: the super-block is unpacked once to 256
/// unsigned bytes, each 32-byte chunk meets the activations in one <c>vpdpbusd</c> (or <c>vpmaddubsw</c> +
/// <c>vpmaddwd</c>), lanes are multiplied by their group's integer scale and summed in 32 bits; one float multiply
/// per super-block applies d·d_a, and the groups' offsets and minimums come off through the scaled 16-element sums.
/// Requires AVX2 (callers fall back to the scalar twins without it).
/// </summary>
internal static unsafe class SuperBlockKernels<T> where T : struct, ISuperBlock
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> DotBytes(Vector256<byte> u, Vector256<sbyte> a)
    {
        if (AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, a);
        // Values of at most 63: vpmaddubsw pairs stay below saturation.
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, a), Vector256.Create((short)1));
    }

    /// <summary>Σ over the super-block of scale_g·U·a as eight int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> ScaledDot(SuperBlockScratch* s, sbyte* a)
    {
        var acc = Vector256<int>.Zero;
        for (int c = 0; c < 8; c++)
        {
            var lanes = DotBytes(Vector256.Load(s->U + 32 * c), Vector256.Load(a + 32 * c));
            acc += Avx2.MultiplyLow(lanes, Vector256.Load(s->Scales + 8 * c));
        }
        return acc;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Bias(SuperBlockScratch* s, float* bsumsScaled, Vector256<float> acc) =>
        Vector256.FusedMultiplyAdd(Vector256.Load(s->Bias), Vector256.Load(bsumsScaled),
            Vector256.FusedMultiplyAdd(Vector256.Load(s->Bias + 8), Vector256.Load(bsumsScaled + 8), acc));

    /// <summary>One row × one activation row.</summary>
    public static float Dot(byte* w, Q8Row a, int n)
    {
        SuperBlockScratch scratch;
        var s = &scratch;
        var acc = Vector256<float>.Zero;
        var corr = Vector256<float>.Zero;
        for (int b = 0; b < n / 256; b++)
        {
            T.Unpack(w + (long)b * T.BlockBytes, s);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(ScaledDot(s, a.Qs + b * 256)), Vector256.Create(s->D * a.D[b]), acc);
            corr = Bias(s, a.BSumsScaled + b * 16, corr);
        }
        return Vector256.Sum(acc) - Vector256.Sum(corr);
    }

    /// <summary>Four consecutive rows × one activation row.</summary>
    public static void Dot4Rows(byte* w, long rowBytes, Q8Row a, int n, float* output)
    {
        for (int r = 0; r < 4; r++) output[r] = Dot(w + r * rowBytes, a, n);
    }

    /// <summary>Four rows × four activation rows; each super-block is unpacked once and used four times.</summary>
    public static void Tile4x4(byte* w, long rowBytes, Q8Row a0, Q8Row a1, Q8Row a2, Q8Row a3, int n, float* output, long outputStride)
    {
        SuperBlockScratch scratch;
        var s = &scratch;
        for (int r = 0; r < 4; r++)
        {
            byte* row = w + r * rowBytes;
            Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
            Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
            for (int b = 0; b < n / 256; b++)
            {
                T.Unpack(row + (long)b * T.BlockBytes, s);
                var d = Vector256.Create(s->D);
                acc0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(ScaledDot(s, a0.Qs + b * 256)), d * Vector256.Create(a0.D[b]), acc0);
                acc1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(ScaledDot(s, a1.Qs + b * 256)), d * Vector256.Create(a1.D[b]), acc1);
                acc2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(ScaledDot(s, a2.Qs + b * 256)), d * Vector256.Create(a2.D[b]), acc2);
                acc3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(ScaledDot(s, a3.Qs + b * 256)), d * Vector256.Create(a3.D[b]), acc3);
                c0 = Bias(s, a0.BSumsScaled + b * 16, c0);
                c1 = Bias(s, a1.BSumsScaled + b * 16, c1);
                c2 = Bias(s, a2.BSumsScaled + b * 16, c2);
                c3 = Bias(s, a3.BSumsScaled + b * 16, c3);
            }
            output[r] = Vector256.Sum(acc0) - Vector256.Sum(c0);
            output[outputStride + r] = Vector256.Sum(acc1) - Vector256.Sum(c1);
            output[2 * outputStride + r] = Vector256.Sum(acc2) - Vector256.Sum(c2);
            output[3 * outputStride + r] = Vector256.Sum(acc3) - Vector256.Sum(c3);
        }
    }
}
