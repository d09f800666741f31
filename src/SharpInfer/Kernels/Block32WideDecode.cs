using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Decode (one weight row × one activation row) for the nibble-packed 32-element formats (Q4_0, Q4_1) with AVX-512
/// VBMI, sixteen blocks per iteration. The per-block kernel of <see cref="Block32Kernels{T}"/> spends most of its time
/// on bookkeeping, not on the product: widening an f16 scale in software (no F16C in .NET), a float conversion and a
/// multiply-add for every block. Here the row is read in steps of four blocks: one <c>vpermi2b</c> gathers a step's 64
/// nibble bytes from two overlapping loads, two <c>vpmaddubsw</c> and one <c>vpmaddwd</c> give its integer sums, four
/// steps' sums fold into one vector of (block, step) lanes, and the sixteen scales are gathered from the same loads and
/// widened together: one conversion and a few multiply-adds per sixteen blocks. Blocks past the last whole run go
/// through <see cref="Block32Kernels{T}.Dot"/>.
/// </summary>
[SkipLocalsInit]
internal static unsafe class Block32WideDecode<T> where T : struct, IBlock32
{
    private const int StepBlocks = 4;

    /// <summary>Where the second load of a step starts: it ends exactly at the step's last byte.</summary>
    private static readonly int SecondLoad = StepBlocks * T.BlockBytes - 64;

    /// <summary>vpermi2b indices: the 16 value bytes of each of the step's blocks, in block order.</summary>
    private static readonly Vector512<byte> ValueIndex = BuildValueIndex();

    /// <summary>vpermi2b indices of the scales (and minimums) of four steps: steps 0 and 1 into words 4j, 4j+1; 2 and 3 into 4j+2, 4j+3.</summary>
    private static readonly Vector512<byte> ScaleIndexLow = BuildScaleIndex(T.ScaleOffset, 0);
    private static readonly Vector512<byte> ScaleIndexHigh = BuildScaleIndex(T.ScaleOffset, 2);
    private static readonly Vector512<byte> MinIndexLow = BuildScaleIndex(Math.Max(0, T.MinOffset), 0);
    private static readonly Vector512<byte> MinIndexHigh = BuildScaleIndex(Math.Max(0, T.MinOffset), 2);

    /// <summary>
    /// Whether this CPU and format can use the kernel: plain nibbles of at most 15 (pairs of nibble × byte products stay
    /// far from 16-bit saturation), a step of at least 64 bytes, and every scale and minimum of a step in its first 64.
    /// </summary>
    public static bool IsSupported =>
        Avx512Vbmi.IsSupported && Avx512BW.IsSupported && T.NibblePacked && T.Offset < 128
        && StepBlocks * T.BlockBytes >= 64 && (StepBlocks - 1) * T.BlockBytes + Math.Max(T.ScaleOffset, T.MinOffset) + 2 <= 64;

    private static Vector512<byte> BuildValueIndex()
    {
        var index = new byte[64];
        int second = StepBlocks * T.BlockBytes - 64;
        for (int k = 0; k < 64; k++)
        {
            int source = k / 16 * T.BlockBytes + T.ValuesOffset + k % 16;
            // Bytes before 64 come from the first load, the rest from the second (index bit 6 picks the operand).
            index[k] = (byte)(source < 64 ? source : 64 + source - second);
        }
        return Vector512.Create(index);
    }

    private static Vector512<byte> BuildScaleIndex(int offset, int firstStep)
    {
        // Word 4j + r of the result: the f16 at block j of step r; steps firstStep and firstStep+1 come from the two
        // operands (index bit 6 picks the second); the other words repeat byte 0 and are masked away by the caller.
        var index = new byte[64];
        for (int j = 0; j < StepBlocks; j++)
        {
            for (int r = 0; r < 2; r++)
            {
                int word = 4 * j + firstStep + r;
                int source = j * T.BlockBytes + offset + (r == 1 ? 64 : 0);
                index[2 * word] = (byte)source;
                index[2 * word + 1] = (byte)(source + 1);
            }
        }
        return Vector512.Create(index);
    }

    /// <summary>Four steps' sixteen f16 values at one offset, as floats in (block, step) order: lane 4j + r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Gather16(Vector512<byte> s0, Vector512<byte> s1, Vector512<byte> s2, Vector512<byte> s3,
        Vector512<byte> indexLow, Vector512<byte> indexHigh)
    {
        var low = Avx512Vbmi.PermuteVar64x8x2(s0, indexLow, s1).AsUInt16();
        var high = Avx512Vbmi.PermuteVar64x8x2(s2, indexHigh, s3).AsUInt16();
        // Words 4j+0, 4j+1 from the first pair of steps, 4j+2, 4j+3 from the second.
        var words = Vector512.ConditionalSelect(Vector512.Create(0u, 0xFFFFFFFFu, 0, 0xFFFFFFFFu, 0, 0xFFFFFFFFu, 0, 0xFFFFFFFFu,
            0, 0xFFFFFFFFu, 0, 0xFFFFFFFFu, 0, 0xFFFFFFFFu, 0, 0xFFFFFFFFu).AsUInt16(), high, low);
        return HalfVector.F16ToSingle(words.GetLower());
    }

    /// <summary>One step's integer sums from its two loads and regrouped activations: lanes 4j…4j+3 hold partial sums of block j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> NibbleSums(Vector512<byte> first, Vector512<byte> second, Vector512<sbyte> low, Vector512<sbyte> high)
    {
        var packed = Avx512Vbmi.PermuteVar64x8x2(first, ValueIndex, second);
        var mask = Vector512.Create((byte)0x0F);
        var lo = packed & mask;
        var hi = Avx512BW.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask;
        // Nibble × byte pairs are at most 2·15·128 in magnitude, so neither vpmaddubsw nor the 16-bit add saturates.
        var pairs = Avx512BW.MultiplyAddAdjacent(lo, low) + Avx512BW.MultiplyAddAdjacent(hi, high);
        return Avx512BW.MultiplyAddAdjacent(pairs, Vector512.Create((short)1));
    }

    /// <summary>Blocks per iteration: four steps.</summary>
    private const int RunBlocks = 4 * StepBlocks;

    /// <summary>One row × one activation row, read front to back as one stream.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static float Dot(byte* w, Q8Row a, int n)
    {
        int nb = n / 32, runs = nb / RunBlocks, stepBytes = StepBlocks * T.BlockBytes, second = SecondLoad;
        var acc = Vector512<float>.Zero;
        // Lane 4j + k: block j of step k, i.e. block 4k + j of the run.
        var transpose = Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        for (int run = 0; run < runs; run++)
        {
            byte* p = w + (long)run * RunBlocks * T.BlockBytes;
            DecodePrefetch.Ahead(p, RunBlocks * T.BlockBytes);
            var f0 = Vector512.Load(p);
            var f1 = Vector512.Load(p + stepBytes);
            var f2 = Vector512.Load(p + 2 * stepBytes);
            var f3 = Vector512.Load(p + 3 * stepBytes);
            sbyte* q = a.Qs + run * RunBlocks * 32;
            var sums = LaneFolds.Quads(
                StepSums(f0, Vector512.Load(p + second), q),
                StepSums(f1, Vector512.Load(p + stepBytes + second), q + 128),
                StepSums(f2, Vector512.Load(p + 2 * stepBytes + second), q + 256),
                StepSums(f3, Vector512.Load(p + 3 * stepBytes + second), q + 384));
            var d = Gather16(f0, f1, f2, f3, ScaleIndexLow, ScaleIndexHigh);
            var da = Avx512F.PermuteVar16x32(Vector512.Load(a.D + run * RunBlocks), transpose);
            var ss = Avx512F.PermuteVar16x32(Vector512.Load(a.SumsScaled + run * RunBlocks), transpose);
            // Per block: d·(da·Σ u·q) + (m − offset·d)·ss = d·(da·Σ u·q − offset·ss) + m·ss.
            var perBlock = T.Offset == 0 ? Vector512.ConvertToSingle(sums) * da
                : Vector512.FusedMultiplyAdd(ss, Vector512.Create((float)-T.Offset), Vector512.ConvertToSingle(sums) * da);
            acc = Vector512.FusedMultiplyAdd(d, perBlock, acc);
            if (T.MinOffset >= 0) acc = Vector512.FusedMultiplyAdd(Gather16(f0, f1, f2, f3, MinIndexLow, MinIndexHigh), ss, acc);
        }
        float result = Vector512.Sum(acc);
        int done = runs * RunBlocks;
        if (done < nb)
        {
            var rest = new Q8Row { Qs = a.Qs + done * 32, D = a.D + done, Sums = a.Sums + done, SumsScaled = a.SumsScaled + done };
            result += Block32Kernels<T>.Dot(w + (long)done * T.BlockBytes, rest, n - done * 32);
        }
        return result;
    }

    /// <summary>
    /// One step's integer sums from its values and the activations at <paramref name="q"/>: [b0 lo, b0 hi, b1 lo,
    /// b1 hi] and [b2 …, b3 …] regrouped into the low and high halves of the four blocks, the order the values are
    /// gathered in.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> StepSums(Vector512<byte> first, Vector512<byte> second, sbyte* q)
    {
        var m0 = Vector512.Load((int*)q);
        var m1 = Vector512.Load((int*)(q + 64));
        return NibbleSums(first, second, Avx512F.Shuffle4x128(m0, m1, 0x88).AsSByte(), Avx512F.Shuffle4x128(m0, m1, 0xDD).AsSByte());
    }
}
