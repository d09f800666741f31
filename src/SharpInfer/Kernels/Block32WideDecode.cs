using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpInfer.Kernels;

/// <summary>
/// Decode (four rows × one activation row) for the nibble-packed 32-element formats (Q4_0, Q4_1) with
/// AVX-512 VBMI, in steps of four blocks per row. The four-row kernel of <see cref="Block32Kernels{T}"/> spends most
/// of its time per block on bookkeeping, not on the product: widening four f16 scales in software (no F16C in .NET),
/// a float conversion, a lane permute and a multiply-add for every row and block. Here one <c>vpermi2b</c> per row
/// gathers the four blocks' 64 nibble bytes from two overlapping loads, two <c>vpmaddubsw</c> and one <c>vpmaddwd</c>
/// give the row's integer sums, the four rows' sums are folded into one vector of (block, row) lanes, and the sixteen
/// scales of the step are gathered and widened together: one conversion and a few multiply-adds per sixteen
/// row-blocks. Blocks past the last whole step go through <see cref="Block32Kernels{T}.Dot4Rows"/>.
/// </summary>
[SkipLocalsInit]
internal static unsafe class Block32WideDecode<T> where T : struct, IBlock32
{
    private const int StepBlocks = 4;

    /// <summary>Where the second load of a step starts: it ends exactly at the step's last byte.</summary>
    private static readonly int SecondLoad = StepBlocks * T.BlockBytes - 64;

    /// <summary>vpermi2b indices: the 16 value bytes of each of the step's blocks, in block order.</summary>
    private static readonly Vector512<byte> ValueIndex = BuildValueIndex();

    /// <summary>vpermi2b indices of the scales (and minimums): rows 0 and 1 into words 4j, 4j+1; rows 2 and 3 into 4j+2, 4j+3.</summary>
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

    private static Vector512<byte> BuildScaleIndex(int offset, int firstRow)
    {
        // Word 4j + r of the result: the f16 at block j of row r; rows firstRow and firstRow+1 come from the two
        // operands (index bit 6 picks the second); the other words repeat byte 0 and are masked away by the caller.
        var index = new byte[64];
        for (int j = 0; j < StepBlocks; j++)
        {
            for (int r = 0; r < 2; r++)
            {
                int word = 4 * j + firstRow + r;
                int source = j * T.BlockBytes + offset + (r == 1 ? 64 : 0);
                index[2 * word] = (byte)source;
                index[2 * word + 1] = (byte)(source + 1);
            }
        }
        return Vector512.Create(index);
    }

    /// <summary>The step's sixteen f16 values at one offset, as floats in (block, row) order: lane 4j + r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Gather16(Vector512<byte> r0, Vector512<byte> r1, Vector512<byte> r2, Vector512<byte> r3,
        Vector512<byte> indexLow, Vector512<byte> indexHigh)
    {
        var low = Avx512Vbmi.PermuteVar64x8x2(r0, indexLow, r1).AsUInt16();
        var high = Avx512Vbmi.PermuteVar64x8x2(r2, indexHigh, r3).AsUInt16();
        // Words 4j+0, 4j+1 from the first pair, 4j+2, 4j+3 from the second.
        var words = Vector512.ConditionalSelect(Vector512.Create(0u, 0xFFFFFFFFu, 0, 0xFFFFFFFFu, 0, 0xFFFFFFFFu, 0, 0xFFFFFFFFu,
            0, 0xFFFFFFFFu, 0, 0xFFFFFFFFu, 0, 0xFFFFFFFFu, 0, 0xFFFFFFFFu).AsUInt16(), high, low);
        return HalfVector.F16ToSingle(words.GetLower());
    }

    /// <summary>One row's integer sums over the step: lanes 4j…4j+3 hold partial sums of block j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> RowSums(Vector512<byte> first, Vector512<byte> second, Vector512<sbyte> low, Vector512<sbyte> high)
    {
        var packed = Avx512Vbmi.PermuteVar64x8x2(first, ValueIndex, second);
        var mask = Vector512.Create((byte)0x0F);
        var lo = packed & mask;
        var hi = Avx512BW.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & mask;
        // Nibble × byte pairs are at most 2·15·128 in magnitude, so neither vpmaddubsw nor the 16-bit add saturates.
        var pairs = Avx512BW.MultiplyAddAdjacent(lo, low) + Avx512BW.MultiplyAddAdjacent(hi, high);
        return Avx512BW.MultiplyAddAdjacent(pairs, Vector512.Create((short)1));
    }

    /// <summary>Four consecutive rows (<paramref name="rowBytes"/> apart) × one activation row.</summary>
    public static void Dot4Rows(byte* w, long rowBytes, Q8Row a, int n, float* output)
    {
        int nb = n / 32, steps = nb / StepBlocks, stepBytes = StepBlocks * T.BlockBytes, second = SecondLoad;
        byte* w0 = w, w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        long ahead = 4 * rowBytes;
        var acc = Vector512<float>.Zero;
        // Lane 4j + r of a step's per-block activation values: block j for every row.
        var spread = Vector512.Create(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        for (int s = 0; s < steps; s++)
        {
            long o = (long)s * stepBytes;
            Sse.Prefetch0(w0 + o + ahead);
            Sse.Prefetch0(w1 + o + ahead);
            Sse.Prefetch0(w2 + o + ahead);
            Sse.Prefetch0(w3 + o + ahead);
            Sse.Prefetch0(w0 + o + ahead + 64);
            Sse.Prefetch0(w1 + o + ahead + 64);
            Sse.Prefetch0(w2 + o + ahead + 64);
            Sse.Prefetch0(w3 + o + ahead + 64);
            var f0 = Vector512.Load(w0 + o);
            var f1 = Vector512.Load(w1 + o);
            var f2 = Vector512.Load(w2 + o);
            var f3 = Vector512.Load(w3 + o);
            // Activations of the step: [b0 lo, b0 hi, b1 lo, b1 hi] and [b2 …, b3 …] regrouped into the low and
            // high halves of the four blocks, matching the order the values are gathered in.
            var m0 = Vector512.Load((int*)(a.Qs + s * 128));
            var m1 = Vector512.Load((int*)(a.Qs + s * 128 + 64));
            var low = Avx512F.Shuffle4x128(m0, m1, 0x88).AsSByte();
            var high = Avx512F.Shuffle4x128(m0, m1, 0xDD).AsSByte();
            var sums = LaneFolds.Quads(
                RowSums(f0, Vector512.Load(w0 + o + second), low, high),
                RowSums(f1, Vector512.Load(w1 + o + second), low, high),
                RowSums(f2, Vector512.Load(w2 + o + second), low, high),
                RowSums(f3, Vector512.Load(w3 + o + second), low, high));
            var d = Gather16(f0, f1, f2, f3, ScaleIndexLow, ScaleIndexHigh);
            var da = Avx512F.PermuteVar16x32(Vector128.Load(a.D + s * StepBlocks).ToVector256Unsafe().ToVector512Unsafe(), spread);
            var ss = Avx512F.PermuteVar16x32(Vector128.Load(a.SumsScaled + s * StepBlocks).ToVector256Unsafe().ToVector512Unsafe(), spread);
            // Row r, block j: d·(da·Σ u·q) + (m − offset·d)·ss = d·(da·Σ u·q − offset·ss) + m·ss.
            var perBlock = T.Offset == 0 ? Vector512.ConvertToSingle(sums) * da
                : Vector512.FusedMultiplyAdd(ss, Vector512.Create((float)-T.Offset), Vector512.ConvertToSingle(sums) * da);
            acc = Vector512.FusedMultiplyAdd(d, perBlock, acc);
            if (T.MinOffset >= 0) acc = Vector512.FusedMultiplyAdd(Gather16(f0, f1, f2, f3, MinIndexLow, MinIndexHigh), ss, acc);
        }
        // Lanes 4j + r: add the four blocks of each row.
        var rows = acc.GetLower() + acc.GetUpper();
        var result = rows.GetLower() + rows.GetUpper();
        int done = steps * StepBlocks;
        if (done < nb)
        {
            float* tail = stackalloc float[4];
            var rest = new Q8Row { Qs = a.Qs + done * 32, D = a.D + done, Sums = a.Sums + done, SumsScaled = a.SumsScaled + done };
            Block32Kernels<T>.Dot4Rows(w + (long)done * T.BlockBytes, rowBytes, rest, n - done * 32, tail);
            result += Vector128.Load(tail);
        }
        result.Store(output);
    }
}
