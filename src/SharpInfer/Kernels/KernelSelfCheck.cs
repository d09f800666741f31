using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>
/// Compares every SIMD kernel with its scalar reference twin on random data of every length up to several blocks.
/// Runs in the test suite, and in child processes with instruction sets switched off (DOTNET_EnableAVX512=0,
/// DOTNET_EnableAVX2=0, DOTNET_EnableHWIntrinsic=0 …) through <c>sharpinfer selftest</c>, so every fallback path is
/// exercised on a machine that has them all.
/// </summary>
public static unsafe partial class KernelSelfCheck
{
    /// <summary>Weight formats with integer kernels.</summary>
    public static readonly GgmlType[] QuantizedTypes =
        [GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.IQ4_NL, GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K];

    /// <summary>Which vector paths this process uses.</summary>
    public static string DescribeIsa() =>
        $"Vector512={Vector512.IsHardwareAccelerated} Vector256={Vector256.IsHardwareAccelerated} Vector128={Vector128.IsHardwareAccelerated} " +
        $"Avx512BW={Avx512BW.IsSupported} Avx2={Avx2.IsSupported} AvxVnni={AvxVnni.IsSupported} Fma={Fma.IsSupported}";

    /// <summary>Runs every check; returns the failures (empty when all agree).</summary>
    public static List<string> RunAll()
    {
        var failures = new List<string>();
        foreach (var t in QuantizedTypes)
        {
            failures.AddRange(CheckQuantizedKernels(t, blocks: 6, seed: (int)t));
            failures.AddRange(CheckQuantizedKernelsExact(t, blocks: 6, seed: 100 + (int)t));
            failures.AddRange(CheckTile16x8(t, blocks: 6, seed: 200 + (int)t));
        }
        failures.AddRange(CheckValueBounds());
        failures.AddRange(CheckActivationQuantizers());
        failures.AddRange(CheckFloatKernels(160));
        failures.AddRange(CheckHalfConversions());
        failures.AddRange(CheckExp());
        failures.AddRange(CheckAttention());
        return failures;
    }

    /// <summary>Integer kernels (row, four rows, four-by-four tiles) of one format against the scalar twin, 1..<paramref name="blocks"/> blocks.</summary>
    public static List<string> CheckQuantizedKernels(GgmlType type, int blocks, int seed)
    {
        var failures = new List<string>();
        bool super = QuantizedDot.UsesSuperBlocks(type);
        int block = super ? 256 : 32;
        var fast = QuantizedDot.KernelsFor(type);
        var reference = QuantizedDot.ScalarFor(type);
        var r = new Random(seed);
        foreach (int nb in Lengths(blocks, super))
        {
            int n = nb * block;
            long rowBytes = GgmlTypeInfo.RowBytes(type, n);
            var weights = new byte[rowBytes * 8];
            for (int row = 0; row < 8; row++)
            {
                var values = RandomFloats(r, n, outliers: true);
                Quantize.Row(type, values, weights.AsSpan((int)(row * rowBytes), (int)rowBytes));
            }
            using var acts = new Q8Rows(8, n);
            for (int t = 0; t < 8; t++)
            {
                var x = RandomFloats(r, n, outliers: false);
                fixed (float* xp = x)
                {
                    if (super) ActivationQuantizer.Quantize256Scalar(xp, n, acts.Row(t, super));
                    else ActivationQuantizer.Quantize32Scalar(xp, n, acts.Row(t, super));
                }
            }
            var gotValues = new float[16];
            fixed (byte* w = weights)
            fixed (float* got = gotValues)
            {
                var expected = new float[16];
                var magnitude = new double[16];
                for (int t = 0; t < 4; t++)
                {
                    for (int row = 0; row < 4; row++)
                    {
                        expected[t * 4 + row] = reference(w + row * rowBytes, acts.Row(t, super), n);
                        (double exact, magnitude[t * 4 + row]) = DequantizedDot(type, w + row * rowBytes, acts.Row(t, super), n, super);
                        // The twin itself against an independent sum: where the CPU lacks AVX2 the twins are the
                        // kernels in use, and comparing them only with themselves would check nothing.
                        CompareWithReference(failures, $"{type} scalar twin n={n} row {row} token {t}", exact, expected[t * 4 + row], magnitude[t * 4 + row]);
                    }
                }
                for (int t = 0; t < 4; t++)
                {
                    for (int row = 0; row < 4; row++) Compare(failures, $"{type} Dot n={n} row {row} token {t}", expected[t * 4 + row], fast.Dot(w + row * rowBytes, acts.Row(t, super), n), magnitude[t * 4 + row]);
                    fast.Dot4(w, rowBytes, acts.Row(t, super), n, got);
                    for (int row = 0; row < 4; row++) Compare(failures, $"{type} Dot4 n={n} row {row} token {t}", expected[t * 4 + row], got[row], magnitude[t * 4 + row]);
                }
                fast.Tile4x4(w, rowBytes, acts.Row(0, super), acts.Row(1, super), acts.Row(2, super), acts.Row(3, super), n, got, 4);
                for (int i = 0; i < 16; i++) Compare(failures, $"{type} Tile4x4 n={n} [{i}]", expected[i], got[i], magnitude[i]);
                CheckPanel(failures, type, w, rowBytes, n, acts, exact: false, "random");
                CheckTile4x8(failures, type, w, rowBytes, n, acts, exact: false);
            }
        }
        return failures;
    }

    /// <summary>
    /// Integer paths bit for bit: every block scale is set to 1 and activations to small integers, so each product and
    /// every partial sum is an integer below 2^24 that floats hold exactly in any order. The scalar twin, the SIMD row
    /// kernel, the four-row kernel and the tile must then all return the very same number, the exact integer dot product.
    /// </summary>
    public static List<string> CheckQuantizedKernelsExact(GgmlType type, int blocks, int seed)
    {
        var failures = new List<string>();
        bool super = QuantizedDot.UsesSuperBlocks(type);
        int block = super ? 256 : 32;
        var fast = QuantizedDot.KernelsFor(type);
        var reference = QuantizedDot.ScalarFor(type);
        var r = new Random(seed);
        var gotValues = new float[16];
        foreach (int nb in Lengths(blocks, super))
        {
            int n = nb * block;
            long rowBytes = GgmlTypeInfo.RowBytes(type, n);
            var weights = new byte[rowBytes * 8];
            var dequantized = new float[8][];
            for (int row = 0; row < 8; row++)
            {
                var span = weights.AsSpan((int)(row * rowBytes), (int)rowBytes);
                Quantize.Row(type, RandomFloats(r, n, outliers: true), span);
                SetUnitScales(type, span, nb);
                dequantized[row] = new float[n];
                Dequantize.Row(type, span, dequantized[row]);
            }
            using var acts = new Q8Rows(8, n);
            var ints = new sbyte[8][];
            for (int t = 0; t < 8; t++)
            {
                ints[t] = new sbyte[n];
                for (int i = 0; i < n; i++) ints[t][i] = (sbyte)r.Next(-2, 3);
                acts.SetIntegers(t, ints[t], super);
            }
            fixed (byte* w = weights)
            fixed (float* got = gotValues)
            {
                for (int t = 0; t < 4; t++)
                {
                    var a = acts.Row(t, super);
                    for (int row = 0; row < 4; row++)
                    {
                        double exact = 0;
                        for (int i = 0; i < n; i++) exact += (double)dequantized[row][i] * ints[t][i];
                        byte* wr = w + row * rowBytes;
                        Same(failures, $"{type} exact scalar n={n} row {row} token {t}", exact, reference(wr, a, n));
                        Same(failures, $"{type} exact Dot n={n} row {row} token {t}", exact, fast.Dot(wr, a, n));
                    }
                    fast.Dot4(w, rowBytes, a, n, got);
                    for (int row = 0; row < 4; row++)
                    {
                        double exact = 0;
                        for (int i = 0; i < n; i++) exact += (double)dequantized[row][i] * ints[t][i];
                        Same(failures, $"{type} exact Dot4 n={n} row {row} token {t}", exact, got[row]);
                    }
                }
                fast.Tile4x4(w, rowBytes, acts.Row(0, super), acts.Row(1, super), acts.Row(2, super), acts.Row(3, super), n, got, 4);
                for (int t = 0; t < 4; t++)
                {
                    for (int row = 0; row < 4; row++)
                    {
                        double exact = 0;
                        for (int i = 0; i < n; i++) exact += (double)dequantized[row][i] * ints[t][i];
                        Same(failures, $"{type} exact Tile4x4 n={n} row {row} token {t}", exact, got[t * 4 + row]);
                    }
                }
                CheckPanel(failures, type, w, rowBytes, n, acts, exact: true, "unit-scale");
                CheckTile4x8(failures, type, w, rowBytes, n, acts, exact: true);
            }
        }
        return failures;
    }

    /// <summary>
    /// Block counts to check: every count up to <paramref name="blocks"/>, and for K-quants two rows as long as the
    /// model's (9 and 19 super-blocks: past 2048 columns, and near ffn_down's 5632).
    /// </summary>
    private static IEnumerable<int> Lengths(int blocks, bool super)
    {
        for (int nb = 1; nb <= blocks; nb++) yield return nb;
        // Beyond one iteration of the decode loops (eight blocks, and sixteen for the AVX-512 VBMI runs: one, two with a
        // tail) and, for super-blocks, of the paired and panel loops.
        foreach (int longer in super ? [9, 19] : (int[])[8, 13, 16, 35])
        {
            if (blocks < longer) yield return longer;
        }
    }

    private static void Same(List<string> failures, string what, double exact, float actual)
    {
        if (actual != exact && failures.Count < 40) failures.Add($"{what}: expected exactly {exact}, got {actual}");
    }

    /// <summary>Overwrites every f16 scale (and minimum scale) of a row's blocks with 1.0.</summary>
    private static void SetUnitScales(GgmlType type, Span<byte> row, int blocks)
    {
        const ushort one = 0x3C00;
        int size = (int)GgmlTypeInfo.RowBytes(type, super(type) ? 256 : 32);
        int[] offsets = type switch
        {
            GgmlType.Q4_0 or GgmlType.Q5_0 or GgmlType.Q8_0 or GgmlType.IQ4_NL => [0],
            GgmlType.Q4_1 or GgmlType.Q5_1 or GgmlType.Q4_K or GgmlType.Q5_K => [0, 2],
            GgmlType.Q2_K => [80, 82],
            GgmlType.Q3_K => [108],
            GgmlType.Q6_K => [208],
            _ => throw new ArgumentException($"no integer kernel for {type}"),
        };
        for (int b = 0; b < blocks; b++)
        {
            foreach (int o in offsets) System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(row[(b * size + o)..], one);
        }
        static bool super(GgmlType t) => QuantizedDot.UsesSuperBlocks(t);
    }

    /// <summary>
    /// The prefill panel (where this CPU has one for <paramref name="type"/>): eight rows against five tokens (a full
    /// quad and a short one) next to the scalar twin, within the float-order tolerance or, with unit scales, exactly.
    /// </summary>
    private static void CheckPanel(List<string> failures, GgmlType type, byte* w, long rowBytes, int n, Q8Rows acts, bool exact, string label)
    {
        var k = QuantizedDot.KernelsFor(type);
        if (!k.HasPanels) return;
        var reference = QuantizedDot.ScalarFor(type);
        const int tokens = 5, rows = QuantizedDot.PanelRows;
        using var panel = new NativeBuffer<byte>(QuantizedDot.PanelScratchBytes(n) + 64);
        bool super = QuantizedDot.UsesSuperBlocks(type);
        long quadDwords = QuantizedDot.PanelQuadDwords(n, super);
        using var meta = new NativeBuffer<int>(2 * quadDwords);
        using var output = new NativeBuffer<float>(tokens * rows);
        for (int quad = 0; quad < 2; quad++) QuantizedDot.BuildPanelQuad(acts.Row(0, super), n, tokens, quad, super, meta.Pointer + quad * quadDwords);
        k.PanelPack(w, rowBytes, n, panel.Pointer);
        k.PanelMultiply(panel.Pointer, n, acts.Row(0, super).Qs, meta.Pointer, tokens, output.Pointer, rows);
        for (int t = 0; t < tokens; t++)
        {
            for (int r = 0; r < rows; r++)
            {
                var a = acts.Row(t, super);
                float expected = reference(w + r * rowBytes, a, n);
                float actual = output.Pointer[t * rows + r];
                if (exact) Same(failures, $"{type} {label} panel n={n} row {r} token {t}", expected, actual);
                else Compare(failures, $"{type} {label} panel n={n} row {r} token {t}", expected, actual, DequantizedDot(type, w + r * rowBytes, a, n, super).Magnitude);
            }
        }
    }

    /// <summary>The four-by-eight tile (where a format has one) against the scalar twin.</summary>
    private static void CheckTile4x8(List<string> failures, GgmlType type, byte* w, long rowBytes, int n, Q8Rows acts, bool exact)
    {
        var k = QuantizedDot.KernelsFor(type);
        if (k.Tile4x8 == null) return;
        bool super = QuantizedDot.UsesSuperBlocks(type);
        var reference = QuantizedDot.ScalarFor(type);
        var output = new float[32];
        long quadDwords = QuantizedDot.PanelQuadDwords(n, super);
        using var meta = new NativeBuffer<int>(2 * quadDwords);
        for (int quad = 0; quad < 2; quad++) QuantizedDot.BuildPanelQuad(acts.Row(0, super), n, 8, quad, super, meta.Pointer + quad * quadDwords);
        fixed (float* o = output) k.Tile4x8(w, rowBytes, acts.Row(0, super), meta.Pointer, n, o, 4);
        for (int t = 0; t < 8; t++)
        {
            for (int r = 0; r < 4; r++)
            {
                var a = acts.Row(t, super);
                float expected = reference(w + r * rowBytes, a, n);
                string what = $"{type} Tile4x8 {(exact ? "unit-scale" : "random")} n={n} row {r} token {t}";
                if (exact) Same(failures, what, expected, output[t * 4 + r]);
                else Compare(failures, what, expected, output[t * 4 + r], DequantizedDot(type, w + r * rowBytes, a, n, super).Magnitude);
            }
        }
    }

    /// <summary>
    /// The sixteen-by-eight tile (where this CPU has one for <paramref name="type"/>) against the scalar twin: random
    /// rows and activations within the float-order tolerance, then the extremes its sums must hold — every value at the
    /// format's largest (or smallest) against activations of ±127 with unit scales — exactly; each for a full batch of
    /// eight, one of four, one of two and a short one.
    /// </summary>
    public static List<string> CheckTile16x8(GgmlType type, int blocks, int seed)
    {
        var failures = new List<string>();
        var k = QuantizedDot.KernelsFor(type);
        if (k.Tile16x8 == null) return failures;
        const int rows = QuantizedDot.Kernels.Tile16x8Rows, tokens = QuantizedDot.Kernels.Tile16x8Tokens;
        bool super = QuantizedDot.UsesSuperBlocks(type);
        int block = super ? 256 : 32;
        var reference = QuantizedDot.ScalarFor(type);
        var r = new Random(seed);
        foreach (int nb in Lengths(blocks, super))
        {
            int n = nb * block;
            long rowBytes = GgmlTypeInfo.RowBytes(type, n);
            foreach (bool extreme in (bool[])[false, true])
            {
                var weights = new byte[rowBytes * rows];
                for (int row = 0; row < rows; row++)
                {
                    var span = weights.AsSpan((int)(row * rowBytes), (int)rowBytes);
                    Quantize.Row(type, RandomFloats(r, n, outliers: true), span);
                    // Values all at the largest in even rows and all at the smallest in odd ones.
                    if (extreme) SetExtremeValues(type, span, nb, largest: row % 2 == 0);
                }
                using var acts = new Q8Rows(tokens, n);
                for (int t = 0; t < tokens; t++)
                {
                    if (extreme)
                    {
                        // Tokens alternate all +127, all −127 and mixed signs.
                        var ints = new sbyte[n];
                        for (int i = 0; i < n; i++) ints[i] = (sbyte)((t % 3) switch { 0 => 127, 1 => -127, _ => i % 2 == 0 ? 127 : -127 });
                        acts.SetIntegers(t, ints, super);
                    }
                    else
                    {
                        fixed (float* xp = RandomFloats(r, n, outliers: false))
                        {
                            if (super) ActivationQuantizer.Quantize256Scalar(xp, n, acts.Row(t, super));
                            else ActivationQuantizer.Quantize32Scalar(xp, n, acts.Row(t, super));
                        }
                    }
                }
                long quadDwords = QuantizedDot.PanelQuadDwords(n, super);
                using var meta = new NativeBuffer<int>(2 * quadDwords);
                using var output = new NativeBuffer<float>(tokens * rows);
                fixed (byte* w = weights)
                {
                    // A full batch, one of four and one of two (tiles run two- and four-token forms) and a short
                    // batch (every size 1–7 comes up across the lengths); a short batch must leave the results past it
                    // untouched.
                    foreach (int count in (int[])[tokens, 4, 2, 1 + (nb + (extreme ? 4 : 0)) % (tokens - 1)])
                    {
                        for (int quad = 0; quad < 2; quad++) QuantizedDot.BuildPanelQuad(acts.Row(0, super), n, count, quad, super, meta.Pointer + quad * quadDwords);
                        new Span<float>(output.Pointer, tokens * rows).Fill(float.NaN);
                        k.Tile16x8(w, rowBytes, acts.Row(0, super), meta.Pointer, n, count, output.Pointer, rows);
                        for (int t = 0; t < tokens; t++)
                        {
                            for (int row = 0; row < rows; row++)
                            {
                                var a = acts.Row(t, super);
                                float actual = output.Pointer[t * rows + row];
                                string what = $"{type} Tile16x8 {(extreme ? "extreme" : "random")} n={n} count {count} row {row} token {t}";
                                if (t >= count)
                                {
                                    if (!float.IsNaN(actual) && failures.Count < 40) failures.Add($"{what}: written past the batch");
                                    continue;
                                }
                                float expected = reference(w + row * rowBytes, a, n);
                                if (extreme) Same(failures, what, expected, actual);
                                else Compare(failures, what, expected, actual, DequantizedDot(type, w + row * rowBytes, a, n, super).Magnitude);
                            }
                        }
                    }
                }
            }
        }
        return failures;
    }

    /// <summary>
    /// Each 32-element format's declared largest unpacked value (<see cref="IBlock32.MaxValue"/>, which decides whether
    /// the 16-bit tiles may take it) is the largest value its SIMD unpack gives over blocks of all-0x00, all-0x7F,
    /// all-0xFF and random bytes: neither exceeded nor loose.
    /// </summary>
    public static List<string> CheckValueBounds()
    {
        var failures = new List<string>();
        if (!Avx2.IsSupported) return failures;
        Bound<Q4_0Block>(failures, "Q4_0");
        Bound<Q4_1Block>(failures, "Q4_1");
        Bound<Q5_0Block>(failures, "Q5_0");
        Bound<Q5_1Block>(failures, "Q5_1");
        Bound<Q8_0Block>(failures, "Q8_0");
        Bound<IQ4_NLBlock>(failures, "IQ4_NL");
        return failures;

        static void Bound<T>(List<string> failures, string name) where T : struct, IBlock32
        {
            var r = new Random(T.BlockBytes);
            byte* block = stackalloc byte[64];
            int largest = 0;
            for (int i = 0; i < 35; i++)
            {
                for (int j = 0; j < 64; j++) block[j] = i switch { 0 => 0, 1 => 0x7F, 2 => 0xFF, _ => (byte)r.Next(256) };
                var values = T.Unpack(block);
                for (int j = 0; j < 32; j++) largest = Math.Max(largest, values.GetElement(j));
            }
            if (largest != T.MaxValue) failures.Add($"{name}: unpacked values reach {largest}, but MaxValue says {T.MaxValue}");
        }
    }

    /// <summary>
    /// Unit scales (Q4_K: unit super-block scales and every group scale and minimum 1) and every value of each block at
    /// the format's largest unpacked value (<paramref name="largest"/>) or its smallest: the bounds a tile's sums must
    /// hold, with products and sums that are exact integers.
    /// </summary>
    private static void SetExtremeValues(GgmlType type, Span<byte> row, int blocks, bool largest)
    {
        SetUnitScales(type, row, blocks);
        int blockBytes = (int)GgmlTypeInfo.RowBytes(type, QuantizedDot.UsesSuperBlocks(type) ? 256 : 32);
        // Q8_0 stores signed bytes shifted by 128 (0x7F unpacks to 255, 0x80 to 0); the other formats' high and low
        // bits are all set or all clear (Q5's fifth bits included, IQ4_NL's table indices 15 and 0).
        (int valuesOffset, int valuesBytes, byte fill) = type switch
        {
            GgmlType.Q4_0 or GgmlType.IQ4_NL => (2, 16, largest ? (byte)0xFF : (byte)0),
            GgmlType.Q4_1 => (4, 16, largest ? (byte)0xFF : (byte)0),
            GgmlType.Q5_0 => (2, 20, largest ? (byte)0xFF : (byte)0),
            GgmlType.Q5_1 => (4, 20, largest ? (byte)0xFF : (byte)0),
            GgmlType.Q8_0 => (2, 32, largest ? (byte)0x7F : (byte)0x80),
            GgmlType.Q4_K => (16, 128, largest ? (byte)0xFF : (byte)0),
            _ => throw new ArgumentException($"{type} has no 16×8 tile"),
        };
        for (int b = 0; b < blocks; b++)
        {
            var blk = row.Slice(b * blockBytes, blockBytes);
            blk.Slice(valuesOffset, valuesBytes).Fill(fill);
            // Q4_K's packed 6-bit scales and minimums: bytes 0–3 scales 0–3, 4–7 minimums 0–3, 8–11 the low nibbles of
            // scales 4–7 and minimums 4–7 (their top bits, in bytes 0–7, stay 0).
            if (type == GgmlType.Q4_K)
            {
                blk.Slice(4, 8).Fill(1);
                blk.Slice(12, 4).Fill(0x11);
            }
        }
    }

    private static void Compare(List<string> failures, string what, float expected, float actual, double magnitude)
    {
        // Integer parts are exact; only the float accumulation order differs.
        double tolerance = 2e-6 * magnitude + 1e-6;
        if (!(Math.Abs(expected - actual) <= tolerance)) failures.Add($"{what}: expected {expected}, got {actual} (tolerance {tolerance:E2})");
    }

    /// <summary>
    /// The dot product with dequantized operands, summed in double (an independent reference for the integer paths),
    /// and Σ|w·a|, the scale of the rounding error a float sum can make.
    /// </summary>
    private static (double Dot, double Magnitude) DequantizedDot(GgmlType type, byte* w, Q8Row a, int n, bool super)
    {
        var values = new float[n];
        fixed (float* v = values) Dequantize.Row(type, w, v, n);
        int block = super ? 256 : 32;
        double dot = 0, magnitude = 0;
        for (int i = 0; i < n; i++)
        {
            double product = (double)values[i] * a.Qs[i] * a.D[i / block];
            dot += product;
            magnitude += Math.Abs(product);
        }
        return (dot, magnitude);
    }

    /// <summary>A kernel against the double-precision reference: integer sums are exact, the scales round once per block.</summary>
    private static void CompareWithReference(List<string> failures, string what, double exact, float actual, double magnitude)
    {
        double tolerance = 1e-5 * magnitude + 1e-6;
        if (!(Math.Abs(exact - actual) <= tolerance)) failures.Add($"{what}: expected {exact}, got {actual} (tolerance {tolerance:E2})");
    }

    /// <summary>How the quantized dot products run on this CPU, as <c>selftest</c> reports it.</summary>
    public static string DescribeQuantizedKernels() => QuantizedDot.RunsScalarKernels
        ? "quantized kernels: scalar (the twins themselves), checked against dequantized references"
        : "quantized kernels: SIMD, checked against their scalar twins, the twins against dequantized references";

    /// <summary>SIMD activation quantizers against their twins: identical bytes, scales and sums.</summary>
    public static List<string> CheckActivationQuantizers()
    {
        var failures = new List<string>();
        var r = new Random(5);
        foreach (bool super in new[] { false, true })
        {
            int block = super ? 256 : 32;
            for (int nb = 1; nb <= 5; nb++)
            {
                int n = nb * block;
                var x = RandomFloats(r, n, outliers: true);
                if (nb == 2) Array.Clear(x, 0, block);
                using var a = new Q8Rows(1, n);
                using var b = new Q8Rows(1, n);
                fixed (float* xp = x)
                {
                    if (super)
                    {
                        ActivationQuantizer.Quantize256(xp, n, a.Row(0, true));
                        ActivationQuantizer.Quantize256Scalar(xp, n, b.Row(0, true));
                    }
                    else
                    {
                        ActivationQuantizer.Quantize32(xp, n, a.Row(0, false));
                        ActivationQuantizer.Quantize32Scalar(xp, n, b.Row(0, false));
                    }
                }
                if (!a.SameAs(b, n, super)) failures.Add($"activation quantizer ({block}-element blocks) n={n} differs from its scalar twin");
            }
        }
        return failures;
    }

    /// <summary>Float kernels (dots, norms, activations, softmax, RoPE) against their twins on every length 1..<paramref name="maxLength"/>.</summary>
    public static List<string> CheckFloatKernels(int maxLength)
    {
        var failures = new List<string>();
        var r = new Random(9);
        for (int n = 1; n <= maxLength; n++)
        {
            var a = RandomFloats(r, n, outliers: false);
            var b = RandomFloats(r, n, outliers: false);
            var h = a.Select(HalfFloat.FromSingle).ToArray();
            var bf = a.Select(BFloat16.FromSingle).ToArray();
            double scale = a.Zip(b, (p, q) => Math.Abs(p * q)).Sum() + 1e-6;
            fixed (float* ap = a)
            fixed (float* bp = b)
            fixed (ushort* hp = h)
            fixed (ushort* bfp = bf)
            {
                Check(failures, $"Dot.F32 n={n}", Dot.F32Scalar(ap, bp, n), Dot.F32(ap, bp, n), 1e-5 * scale);
                Check(failures, $"FloatDot.F16 n={n}", FloatDot.F16Scalar(hp, bp, n), FloatDot.F16(hp, bp, n), 1e-5 * scale);
                Check(failures, $"FloatDot.BF16 n={n}", FloatDot.BF16Scalar(bfp, bp, n), FloatDot.BF16(bfp, bp, n), 1e-5 * scale);

                var y1 = new float[n];
                var y2 = new float[n];
                fixed (float* p1 = y1)
                fixed (float* p2 = y2)
                {
                    // Element-wise kernels do the same operation per element as their twins: bit for bit.
                    Array.Copy(b, y1, n);
                    Array.Copy(b, y2, n);
                    Elementwise.Add(p1, ap, n);
                    Elementwise.AddScalar(p2, ap, n);
                    CheckAll(failures, $"Elementwise.Add n={n}", y2, y1, 0);
                    Elementwise.MultiplyAdd(p1, ap, 0.37f, n);
                    Elementwise.MultiplyAddScalar(p2, ap, 0.37f, n);
                    CheckAll(failures, $"Elementwise.MultiplyAdd n={n}", y2, y1, 0);
                    Elementwise.Scale(p1, -1.7f, n);
                    Elementwise.ScaleToScalar(p2, p2, -1.7f, n);
                    CheckAll(failures, $"Elementwise.Scale n={n}", y2, y1, 0);
                    Elementwise.ScaleTo(p1, ap, 2.3f, n);
                    Elementwise.ScaleToScalar(p2, ap, 2.3f, n);
                    CheckAll(failures, $"Elementwise.ScaleTo n={n}", y2, y1, 0);
                    Check(failures, $"Elementwise.Max n={n}", Elementwise.MaxScalar(ap, n), Elementwise.Max(ap, n), 0);
                    RmsNorm.Apply(ap, bp, p1, n, 1e-5f);
                    RmsNorm.ApplyScalar(ap, bp, p2, n, 1e-5f);
                    CheckAll(failures, $"RmsNorm n={n}", y2, y1, 1e-5);
                    SwiGlu.Apply(ap, bp, p1, n);
                    SwiGlu.ApplyScalar(ap, bp, p2, n);
                    CheckAll(failures, $"SwiGlu n={n}", y2, y1, 1e-5);
                    CheckGatedAndCapped(failures, a, b, n);
                    Array.Copy(a, y1, n);
                    Array.Copy(a, y2, n);
                    Softmax.Apply(p1, n);
                    Softmax.ApplyScalar(p2, n);
                    CheckAll(failures, $"Softmax n={n}", y2, y1, 1e-6);
                    if (n % 2 == 0)
                    {
                        // Two heads of n values each, every rotated width 2..n, both layouts; cache from random angles.
                        var cache = new float[n];
                        for (int i = 0; i < n; i += 2)
                        {
                            double angle = r.NextDouble() * 7;
                            cache[i] = (float)Math.Cos(angle);
                            cache[i + 1] = (float)Math.Sin(angle);
                        }
                        var heads1 = new float[2 * n];
                        var heads2 = new float[2 * n];
                        fixed (float* cp = cache)
                        fixed (float* h1 = heads1)
                        fixed (float* h2 = heads2)
                        {
                            foreach (bool neox in new[] { false, true })
                            {
                                for (int dims = 2; dims <= n; dims += dims < 24 ? 2 : 22)
                                {
                                    for (int i = 0; i < 2 * n; i++) heads1[i] = heads2[i] = a[i % n] * (1 + i % 7);
                                    Rope.Apply(h1, 2, n, cp, dims, neox);
                                    Rope.ApplyScalar(h2, 2, n, cp, dims, neox);
                                    // A rotation keeps magnitudes: the error bound is relative to the inputs, not to
                                    // outputs that cancel towards zero.
                                    for (int i = 0; i < 2 * n; i++) Check(failures, $"Rope neox={neox} n={n} dims={dims} [{i}]", heads2[i], heads1[i], 1e-6 * 7);
                                }
                            }
                        }
                    }
                    FloatDot.F16ToSingle(hp, p1, n);
                    for (int i = 0; i < n; i++) if (y1[i] != HalfFloat.ToSingle(h[i])) failures.Add($"F16ToSingle n={n} [{i}]");
                    FloatDot.BF16ToSingle(bfp, p1, n);
                    for (int i = 0; i < n; i++) if (y1[i] != BFloat16.ToSingle(bf[i])) failures.Add($"BF16ToSingle n={n} [{i}]");
                }
            }
        }
        return failures;
    }

    /// <summary>The vector f16 widening against the scalar table for all 65536 bit patterns.</summary>
    public static List<string> CheckHalfConversions()
    {
        var failures = new List<string>();
        var bits = new ushort[65536];
        for (int i = 0; i < bits.Length; i++) bits[i] = (ushort)i;
        for (int i = 0; i < bits.Length; i++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf(bits[i]);
            float actual = HalfFloat.ToSingle(bits[i]);
            bool same = float.IsNaN(expected) ? float.IsNaN(actual) : BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual);
            if (!same && failures.Count < 20) failures.Add($"scalar f16 0x{bits[i]:X4}: expected {expected}, got {actual}");
        }
        var out8 = new float[8];
        var out16 = new float[16];
        fixed (ushort* b = bits)
        fixed (float* o8 = out8)
        fixed (float* o16 = out16)
        {
            for (int i = 0; i < bits.Length; i += 16)
            {
                if (Vector256.IsHardwareAccelerated)
                {
                    HalfVector.F16ToSingle(Vector128.Load(b + i)).Store(o8);
                    for (int k = 0; k < 8; k++) CheckBits(failures, bits[i + k], out8[k]);
                }
                if (Vector512.IsHardwareAccelerated)
                {
                    HalfVector.F16ToSingle(Vector256.Load(b + i)).Store(o16);
                    for (int k = 0; k < 16; k++) CheckBits(failures, bits[i + k], out16[k]);
                }
            }
        }
        return failures;
    }

    /// <summary>
    /// <see cref="FastExp"/>: every vector width bit-identical to the scalar twin, and the twin within 2 ulp of a
    /// double-precision e^x over the whole finite range (plus the documented 0 / +∞ / NaN edges).
    /// </summary>
    public static List<string> CheckExp()
    {
        var failures = new List<string>();
        var r = new Random(17);
        var xs = new List<float> { 0f, -0f, 1f, -1f, 0.5f, -87f, -87.0001f, -100f, 88.37626f, 88.38f, 100f,
            float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon };
        for (float x = -90f; x <= 90f; x += 0.01953125f) xs.Add(x);
        for (int i = 0; i < 4096; i++) xs.Add((float)(r.NextDouble() * 180 - 90));
        while (xs.Count % 16 != 0) xs.Add(0f);
        var input = xs.ToArray();
        var out8 = new float[8];
        var out16 = new float[16];
        for (int i = 0; i < input.Length; i++)
        {
            float x = input[i];
            float twin = FastExp.ExpScalar(x);
            if (float.IsNaN(x)) { if (!float.IsNaN(twin)) failures.Add($"ExpScalar(NaN) = {twin}"); continue; }
            if (x < -87f) { if (twin != 0f) failures.Add($"ExpScalar({x}) = {twin}, expected 0"); continue; }
            if (x > 88.37626f) { if (!float.IsPositiveInfinity(twin)) failures.Add($"ExpScalar({x}) = {twin}, expected +inf"); continue; }
            double exact = Math.Exp(x);
            double ulp = (double)MathF.BitIncrement((float)exact) - (float)exact;
            if (!(Math.Abs(twin - exact) <= 2 * ulp) && failures.Count < 20) failures.Add($"ExpScalar({x:R}) = {twin:R}, e^x = {exact:R}");
        }
        fixed (float* xp = input)
        fixed (float* o8 = out8)
        fixed (float* o16 = out16)
        {
            for (int i = 0; i < input.Length; i += 16)
            {
                if (Vector128.IsHardwareAccelerated)
                {
                    for (int quarter = 0; quarter < 16; quarter += 4)
                    {
                        FastExp.Exp(Vector128.Load(xp + i + quarter)).Store(o8);
                        for (int k = 0; k < 4; k++) CheckSame(failures, "FastExp 128", input[i + quarter + k], FastExp.ExpScalar(input[i + quarter + k]), o8[k]);
                    }
                }
                if (Vector256.IsHardwareAccelerated)
                {
                    for (int half = 0; half < 16; half += 8)
                    {
                        FastExp.Exp(Vector256.Load(xp + i + half)).Store(o8);
                        for (int k = 0; k < 8; k++) CheckSame(failures, "FastExp 256", input[i + half + k], FastExp.ExpScalar(input[i + half + k]), o8[k]);
                    }
                }
                if (Vector512.IsHardwareAccelerated)
                {
                    FastExp.Exp(Vector512.Load(xp + i)).Store(o16);
                    for (int k = 0; k < 16; k++) CheckSame(failures, "FastExp 512", input[i + k], FastExp.ExpScalar(input[i + k]), o16[k]);
                }
            }
        }
        return failures;
    }

    /// <summary>
    /// GeGLU, the softcap and the per-head norm against their twins. Inputs are spread to ±6 so GELU's tanh and the
    /// cap's saturation are both exercised; the twins use the runtime's tanh, so the bounds are absolute (tanh's error
    /// is absolute) scaled by what multiplies it.
    /// </summary>
    private static void CheckGatedAndCapped(List<string> failures, float[] a, float[] b, int n)
    {
        var x = a.Select(v => v * 6f).ToArray();
        var y1 = new float[n];
        var y2 = new float[n];
        fixed (float* xp = x)
        fixed (float* bp = b)
        fixed (float* p1 = y1)
        fixed (float* p2 = y2)
        {
            GeGlu.Apply(xp, bp, p1, n);
            GeGlu.ApplyScalar(xp, bp, p2, n);
            // One half-precision step (2^-10 relative) where FastTanh's last bit and the runtime's round differently.
            for (int i = 0; i < n; i++) Check(failures, $"GeGlu n={n} [{i}]", y2[i], y1[i], Math.Abs(y2[i]) / 1024 + 1e-7);
            foreach (float cap in new[] { 0.5f, 3f, 30f })
            {
                Array.Copy(x, y1, n);
                Array.Copy(x, y2, n);
                Softcap.Apply(p1, n, cap);
                Softcap.ApplyScalar(p2, n, cap);
                for (int i = 0; i < n; i++) Check(failures, $"Softcap cap={cap} n={n} [{i}]", y2[i], y1[i], 1e-6 * cap);
            }
            foreach (int headDim in new[] { 1, 2, 8, 16, 24 })
            {
                if (n % headDim != 0) continue;
                Array.Copy(x, y1, n);
                Array.Copy(x, y2, n);
                RmsNorm.ApplyHeads(p1, bp, n / headDim, headDim, 1e-6f);
                RmsNorm.ApplyHeadsScalar(p2, bp, n / headDim, headDim, 1e-6f);
                CheckAll(failures, $"RmsNorm.ApplyHeads n={n} headDim={headDim}", y2, y1, 1e-5);
            }
        }
    }

    private static void CheckSame(List<string> failures, string what, float x, float expected, float actual)
    {
        bool same = float.IsNaN(expected) ? float.IsNaN(actual) : BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual);
        if (!same && failures.Count < 20) failures.Add($"{what}({x:R}): twin {expected:R}, vector {actual:R}");
    }

    private static void CheckBits(List<string> failures, ushort bits, float actual)
    {
        float expected = HalfFloat.ToSingle(bits);
        bool same = float.IsNaN(expected) ? float.IsNaN(actual) : BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual);
        if (!same && failures.Count < 20) failures.Add($"f16 0x{bits:X4}: expected {expected}, got {actual}");
    }

    private static void Check(List<string> failures, string what, float expected, float actual, double tolerance)
    {
        if (!(Math.Abs(expected - actual) <= tolerance)) failures.Add($"{what}: expected {expected}, got {actual}");
    }

    private static void CheckAll(List<string> failures, string what, float[] expected, float[] actual, double relative)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (!(Math.Abs(expected[i] - actual[i]) <= relative * (Math.Abs(expected[i]) + 1e-3)))
            {
                failures.Add($"{what} [{i}]: expected {expected[i]}, got {actual[i]}");
                return;
            }
        }
    }

    private static float[] RandomFloats(Random r, int n, bool outliers)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(r.NextDouble() * 2 - 1) * (outliers && r.Next(16) == 0 ? 8 : 1);
        return v;
    }
}
