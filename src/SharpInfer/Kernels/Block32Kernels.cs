using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Integer dot products of 32-element weight blocks with 8-bit activations: per block, 32 unsigned weight bytes
/// times 32 signed activation bytes (one <c>vpdpbusd</c> with AVX-VNNI, <c>vpmaddubsw</c> + <c>vpmaddwd</c> with AVX2),
/// converted to float and scaled by d_w·d_a into a vector accumulator; offsets and minimums are folded in with the
/// activations' scaled block sums. Requires AVX2 (callers fall back to the scalar twins without it).
/// </summary>
internal static unsafe class Block32Kernels<T> where T : struct, IBlock32
{
    /// <summary>Offset still to subtract: the AVX2 path for signed weights multiplies them directly (sign trick).</summary>
    private static int EffectiveOffset => T.Offset == 128 && !AvxVnni.IsSupported ? 0 : T.Offset;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> DotBytes(Vector256<byte> u, Vector256<sbyte> a)
    {
        if (AvxVnni.IsSupported) return AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, a);
        var ones = Vector256.Create((short)1);
        if (T.Offset == 128)
        {
            // Signed weights: |w| × (a with w's sign) keeps vpmaddubsw's pairs below saturation.
            var s = (u ^ Vector256.Create((byte)0x80)).AsSByte();
            return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(Avx2.Abs(s), Avx2.Sign(a, s)), ones);
        }
        // Unsigned values of at most 31 here: pairs stay far below saturation.
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, a), ones);
    }

    /// <summary>One row × one activation row.</summary>
    public static float Dot(byte* w, Q8Row a, int n)
    {
        int nb = n / 32, bb = T.BlockBytes, offset = EffectiveOffset;
        var acc = Vector256<float>.Zero;
        float corr = 0;
        for (int b = 0; b < nb; b++)
        {
            byte* blk = w + b * bb;
            var lanes = DotBytes(T.Unpack(blk), Vector256.Load(a.Qs + b * 32));
            float d = T.Scale(blk);
            acc = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(lanes), Vector256.Create(d * a.D[b]), acc);
            corr += (T.Min(blk) - offset * d) * a.SumsScaled[b];
        }
        return Vector256.Sum(acc) + corr;
    }

    /// <summary>Four consecutive rows (<paramref name="rowBytes"/> apart) × one activation row: four memory streams at once.</summary>
    public static void Dot4Rows(byte* w, long rowBytes, Q8Row a, int n, float* output)
    {
        int nb = n / 32, bb = T.BlockBytes, offset = EffectiveOffset;
        byte* w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        float c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        for (int b = 0; b < nb; b++)
        {
            var av = Vector256.Load(a.Qs + b * 32);
            float da = a.D[b], ss = a.SumsScaled[b];
            long o = (long)b * bb;
            float d0 = T.Scale(w0 + o), d1 = T.Scale(w1 + o), d2 = T.Scale(w2 + o), d3 = T.Scale(w3 + o);
            acc0 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(T.Unpack(w0 + o), av)), Vector256.Create(d0 * da), acc0);
            acc1 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(T.Unpack(w1 + o), av)), Vector256.Create(d1 * da), acc1);
            acc2 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(T.Unpack(w2 + o), av)), Vector256.Create(d2 * da), acc2);
            acc3 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(T.Unpack(w3 + o), av)), Vector256.Create(d3 * da), acc3);
            c0 += (T.Min(w0 + o) - offset * d0) * ss;
            c1 += (T.Min(w1 + o) - offset * d1) * ss;
            c2 += (T.Min(w2 + o) - offset * d2) * ss;
            c3 += (T.Min(w3 + o) - offset * d3) * ss;
        }
        output[0] = Vector256.Sum(acc0) + c0;
        output[1] = Vector256.Sum(acc1) + c1;
        output[2] = Vector256.Sum(acc2) + c2;
        output[3] = Vector256.Sum(acc3) + c3;
    }

    /// <summary>
    /// Four rows × four activation rows: each weight block is unpacked once and used four times.
    /// <paramref name="output"/>[t·<paramref name="outputStride"/> + r] receives row r against activation t.
    /// </summary>
    public static void Tile4x4(byte* w, long rowBytes, Q8Row a0, Q8Row a1, Q8Row a2, Q8Row a3, int n, float* output, long outputStride)
    {
        int nb = n / 32, bb = T.BlockBytes, offset = EffectiveOffset;
        Vector256<float> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector256<float> s10 = default, s11 = default, s12 = default, s13 = default;
        Vector256<float> s20 = default, s21 = default, s22 = default, s23 = default;
        Vector256<float> s30 = default, s31 = default, s32 = default, s33 = default;
        Vector128<float> corr0 = default, corr1 = default, corr2 = default, corr3 = default;
        for (int b = 0; b < nb; b++)
        {
            long o = (long)b * bb;
            byte* w0 = w + o, w1 = w0 + rowBytes, w2 = w1 + rowBytes, w3 = w2 + rowBytes;
            var u0 = T.Unpack(w0);
            var u1 = T.Unpack(w1);
            var u2 = T.Unpack(w2);
            var u3 = T.Unpack(w3);
            float d0 = T.Scale(w0), d1 = T.Scale(w1), d2 = T.Scale(w2), d3 = T.Scale(w3);
            var bw0 = Vector256.Create(d0);
            var bw1 = Vector256.Create(d1);
            var bw2 = Vector256.Create(d2);
            var bw3 = Vector256.Create(d3);
            var ss = Vector128.Create(a0.SumsScaled[b], a1.SumsScaled[b], a2.SumsScaled[b], a3.SumsScaled[b]);
            corr0 = Vector128.FusedMultiplyAdd(Vector128.Create(T.Min(w0) - offset * d0), ss, corr0);
            corr1 = Vector128.FusedMultiplyAdd(Vector128.Create(T.Min(w1) - offset * d1), ss, corr1);
            corr2 = Vector128.FusedMultiplyAdd(Vector128.Create(T.Min(w2) - offset * d2), ss, corr2);
            corr3 = Vector128.FusedMultiplyAdd(Vector128.Create(T.Min(w3) - offset * d3), ss, corr3);

            var av = Vector256.Load(a0.Qs + b * 32);
            var ba = Vector256.Create(a0.D[b]);
            s00 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u0, av)), bw0 * ba, s00);
            s10 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u1, av)), bw1 * ba, s10);
            s20 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u2, av)), bw2 * ba, s20);
            s30 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u3, av)), bw3 * ba, s30);
            av = Vector256.Load(a1.Qs + b * 32);
            ba = Vector256.Create(a1.D[b]);
            s01 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u0, av)), bw0 * ba, s01);
            s11 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u1, av)), bw1 * ba, s11);
            s21 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u2, av)), bw2 * ba, s21);
            s31 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u3, av)), bw3 * ba, s31);
            av = Vector256.Load(a2.Qs + b * 32);
            ba = Vector256.Create(a2.D[b]);
            s02 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u0, av)), bw0 * ba, s02);
            s12 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u1, av)), bw1 * ba, s12);
            s22 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u2, av)), bw2 * ba, s22);
            s32 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u3, av)), bw3 * ba, s32);
            av = Vector256.Load(a3.Qs + b * 32);
            ba = Vector256.Create(a3.D[b]);
            s03 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u0, av)), bw0 * ba, s03);
            s13 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u1, av)), bw1 * ba, s13);
            s23 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u2, av)), bw2 * ba, s23);
            s33 = Vector256.FusedMultiplyAdd(Vector256.ConvertToSingle(DotBytes(u3, av)), bw3 * ba, s33);
        }
        Store(output, outputStride, 0, Vector256.Sum(s00), Vector256.Sum(s10), Vector256.Sum(s20), Vector256.Sum(s30), corr0, corr1, corr2, corr3);
        Store(output, outputStride, 1, Vector256.Sum(s01), Vector256.Sum(s11), Vector256.Sum(s21), Vector256.Sum(s31), corr0, corr1, corr2, corr3);
        Store(output, outputStride, 2, Vector256.Sum(s02), Vector256.Sum(s12), Vector256.Sum(s22), Vector256.Sum(s32), corr0, corr1, corr2, corr3);
        Store(output, outputStride, 3, Vector256.Sum(s03), Vector256.Sum(s13), Vector256.Sum(s23), Vector256.Sum(s33), corr0, corr1, corr2, corr3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* output, long stride, int t, float r0, float r1, float r2, float r3, Vector128<float> c0, Vector128<float> c1, Vector128<float> c2, Vector128<float> c3)
    {
        float* o = output + t * stride;
        o[0] = r0 + c0.GetElement(t);
        o[1] = r1 + c1.GetElement(t);
        o[2] = r2 + c2.GetElement(t);
        o[3] = r3 + c3.GetElement(t);
    }
}
