using System.Runtime.Intrinsics.X86;
using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>
/// Dot products of quantized weight rows with <see cref="Q8Row"/> activation rows, in integer arithmetic per block
/// and float across blocks. Each format has a scalar reference (<c>…Scalar</c>, the twin the SIMD paths are tested
/// against) and SIMD kernels for one row, four rows, and four-by-four tiles; <see cref="KernelsFor"/> picks by CPU.
/// </summary>
public static unsafe partial class QuantizedDot
{
    /// <summary>Whether <paramref name="type"/> uses the 256-element activation layout.</summary>
    public static bool UsesSuperBlocks(GgmlType type) => type is GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.Q4_K or GgmlType.Q5_K or GgmlType.Q6_K;

    /// <summary>Whether a weight type is computed with quantized activations (else f32 activations).</summary>
    public static bool IsQuantizedPath(GgmlType type) => type is GgmlType.Q4_0 or GgmlType.Q4_1 or GgmlType.Q5_0 or GgmlType.Q5_1
        or GgmlType.Q8_0 or GgmlType.IQ4_NL || UsesSuperBlocks(type);

    /// <summary>The kernels of one weight format.</summary>
    public readonly struct Kernels
    {
        /// <summary>No kernels; the properties are set by initialisers.</summary>
        public Kernels() { }

        /// <summary>One row × one activation row.</summary>
        public delegate*<byte*, Q8Row, int, float> Dot { get; init; }
        /// <summary>Four rows (stride in bytes) × one activation row, four results.</summary>
        public delegate*<byte*, long, Q8Row, int, float*, void> Dot4 { get; init; }
        /// <summary>Four rows × four activation rows; result [t·stride + r].</summary>
        public delegate*<byte*, long, Q8Row, Q8Row, Q8Row, Q8Row, int, float*, long, void> Tile4x4 { get; init; }
        /// <summary>
        /// Four rows × eight consecutive activation rows starting at a multiple of four (null where a format has none),
        /// reading the two token quads' metadata (<see cref="BuildPanelQuad"/>); result [t·stride + r].
        /// </summary>
        public delegate*<byte*, long, Q8Row, void*, int, float*, long, void> Tile4x8 { get; init; }
        /// <summary>
        /// Sixteen rows × up to eight consecutive activation rows starting at a multiple of four (null where the CPU or
        /// format has none), reading their token quads' metadata; arguments: rows, row stride, first activation row,
        /// metadata, columns, token count, output, output stride; result [t·stride + r]. Where present it takes every
        /// batch of <see cref="Tile16x8MinTokens"/> to <see cref="Tile16x8MaxTokens"/> instead of the row kernels, 4×4
        /// tiles and panels.
        /// </summary>
        public delegate*<byte*, long, Q8Row, void*, int, int, float*, long, void> Tile16x8 { get; init; }
        /// <summary>
        /// Fewest tokens for which <see cref="Tile16x8"/> runs. A tile runs the smallest of its two-, four- and
        /// eight-token forms that holds the batch (<see cref="ITileBatch"/>), so it pays off once the row kernels' cost
        /// per token adds up to a two-token pass (measured, 2 threads, 2048 columns: at 2 tokens 1.5–1.9× faster than
        /// the row kernels for Q4_0, Q4_K, Q8_0 and IQ4_NL; the single-token decode kernels stay ahead at 1).
        /// </summary>
        public int Tile16x8MinTokens { get; init; }
        /// <summary>
        /// Most tokens for which <see cref="Tile16x8"/> runs (no limit unless set); larger batches go to the panels, for
        /// tiles that, unlike the panels, spend a float step per block and token on every eight tokens.
        /// </summary>
        public int Tile16x8MaxTokens { get; init; } = int.MaxValue;
        /// <summary>Prefill panels (null where the CPU or format has none): packs eight rows into a scratch panel.</summary>
        public delegate*<byte*, long, int, byte*, void> PanelPack { get; init; }
        /// <summary>A packed panel × consecutive activation rows; result [t·stride + r] for its eight rows.</summary>
        public delegate*<byte*, int, sbyte*, void*, int, float*, long, void> PanelMultiply { get; init; }
        /// <summary>Whether <see cref="PanelPack"/> and <see cref="PanelMultiply"/> exist.</summary>
        public bool HasPanels => PanelPack != null;
        /// <summary>
        /// Fewest tokens for which packing a panel beats the register tiles (measured: 8 for 32-element blocks, whose
        /// tiles spend a float multiply-add per block; 40 for K-quants, whose 4×8 tiles are integer up to one float
        /// step per super-block for all eight tokens and whose panels cost more to pack).
        /// </summary>
        public int PanelMinTokens { get; init; }
        /// <summary>The token count of <see cref="Tile4x8"/>.</summary>
        public const int Tile4x8Tokens = 8;
        /// <summary>The rows and most tokens of a <see cref="Tile16x8"/> call.</summary>
        public const int Tile16x8Rows = 16, Tile16x8Tokens = 8;
        /// <summary>
        /// Fewest tokens for which a kernel of this format reads the token quads' metadata (panels, 4×8 or 16×8 tiles);
        /// below it the activations are prepared without it.
        /// </summary>
        public int QuadMetaMinTokens => Math.Min(HasPanels ? PanelMinTokens : int.MaxValue,
            Math.Min(Tile4x8 != null ? Tile4x8Tokens : int.MaxValue, Tile16x8 != null ? Tile16x8MinTokens : int.MaxValue));
    }

    /// <summary>Rows per prefill panel.</summary>
    public const int PanelRows = 8;

    /// <summary>Bytes of one packed panel (values, scales, minimums) for rows of <paramref name="columns"/>, rounded to a cache line.</summary>
    public static long PanelBytes(int columns) =>
        (Math.Max(Block32Panels<Q4_0Block>.ScratchBytes(columns), SuperBlockPanels<Q4_KBlock>.ScratchBytes(columns)) + 63) / 64 * 64;

    /// <summary>Bytes of panel scratch per thread for rows of <paramref name="columns"/> elements.</summary>
    public static long PanelScratchBytes(int columns) => PanelBytes(columns);

    /// <summary>Dwords of panel metadata per token quad (see <see cref="BuildPanelQuad"/>) for either activation layout.</summary>
    public static long PanelQuadDwords(int columns, bool superBlocks) =>
        superBlocks ? SuperBlockPanels<Q4_KBlock>.QuadMetaDwords(columns) : Block32Panels<Q4_0Block>.QuadMetaFloats(columns);

    /// <summary>Builds the metadata of one token quad that the panels read (scales and sums, interleaved by token).</summary>
    public static void BuildPanelQuad(Q8Row first, int columns, int tokens, int quad, bool superBlocks, void* meta)
    {
        if (superBlocks) SuperBlockPanels<Q4_KBlock>.BuildQuadMeta(first, columns, tokens, quad, (int*)meta);
        else Block32Panels<Q4_0Block>.BuildQuadMeta(first, columns, tokens, quad, (float*)meta);
    }

    /// <summary>The dot product for a weight type (fastest supported path).</summary>
    public static delegate*<byte*, Q8Row, int, float> For(GgmlType type) => KernelsFor(type).Dot;

    /// <summary>Whether this CPU runs the scalar twins themselves (no AVX2): there is no SIMD kernel to compare them with.</summary>
    public static bool RunsScalarKernels => !Avx2.IsSupported;

    /// <summary>The fastest kernels this CPU supports for a weight type.</summary>
    public static Kernels KernelsFor(GgmlType type)
    {
        if (RunsScalarKernels) return ScalarKernels(type);
        return type switch
        {
            GgmlType.Q4_0 => Legacy<Q4_0Block>(),
            GgmlType.Q4_1 => Legacy<Q4_1Block>(),
            GgmlType.Q5_0 => Legacy<Q5_0Block>(),
            GgmlType.Q5_1 => Legacy<Q5_1Block>(),
            GgmlType.Q8_0 => Legacy<Q8_0Block>(),
            GgmlType.IQ4_NL => Legacy<IQ4_NLBlock>(),
            GgmlType.Q2_K => Super<Q2_KBlock>() with { PanelMinTokens = 72 },
            GgmlType.Q3_K => Super<Q3_KBlock>(),
            GgmlType.Q4_K => (KQuantWideDecode.IsSupported
                ? Super<Q4_KBlock>() with { Dot = &KQuantWideDecode.Q4K, Dot4 = &RowTiles<Q4KWideRow>.Dot4Rows }
                : Super<Q4_KBlock>()) with { Tile16x8 = Q4KTile16x8.IsSupported ? &Q4KTile16x8.Multiply : null, Tile16x8MinTokens = 2 },
            GgmlType.Q5_K => Super<Q5_KBlock>(),
            // Q2_K's and Q6_K's 4×8 tiles keep up with their panels longest (2 threads, 2048 columns): Q6_K's 17 %
            // faster at 40 tokens, 6 % at 64, even at 80–112, 3–5 % slower at 128–512; Q2_K's 19 % at 40, 7 % at 64,
            // even at 96–128.
            GgmlType.Q6_K => (KQuantWideDecode.IsSupported
                ? Super<Q6_KBlock>() with { Dot = &KQuantWideDecode.Q6K, Dot4 = &RowTiles<Q6KWideRow>.Dot4Rows }
                : Super<Q6_KBlock>()) with { PanelMinTokens = 72 },
            _ => throw new NotSupportedException($"no quantized dot product for {type}"),
        };
    }

    private static Kernels Legacy<T>() where T : struct, IBlock32 => new()
    {
        Dot = Block32WideDecode<T>.IsSupported ? &Block32WideDecode<T>.Dot : &Block32Kernels<T>.Dot,
        Dot4 = Block32WideDecode<T>.IsSupported ? &RowTiles<Block32WideRow<T>>.Dot4Rows : &RowTiles<Block32Row<T>>.Dot4Rows,
        Tile4x4 = &Block32Kernels<T>.Tile4x4,
        // The panels multiply unsigned weights with vpdpbusd, which only AVX-VNNI has without saturation.
        PanelPack = AvxVnni.IsSupported ? &Block32Panels<T>.Pack : null,
        PanelMultiply = AvxVnni.IsSupported ? &Block32Panels<T>.Multiply : null,
        PanelMinTokens = 8,
        // Measured against the panels (2 threads, 2048 columns): 22 % faster at 16 tokens, 9 % at 64, 3 % at 512.
        // The values that do not fit its 16-bit sums (or a CPU without AVX-512BW) take the VNNI tile instead, which
        // spends twice the multiply instructions: measured (2 threads, 2048 columns) it beats the row kernels and 4×4
        // tiles at 2–7 tokens by 1.2–2.9× and the panels at 8 by 2–18 %, and loses to the panels by 8–15 % at 16.
        Tile16x8 = NibbleTile16x8<T>.IsSupported ? &NibbleTile16x8<T>.Multiply : VnniTile16x8<T>.IsSupported ? &VnniTile16x8<T>.Multiply : null,
        Tile16x8MinTokens = 2,
        Tile16x8MaxTokens = NibbleTile16x8<T>.IsSupported ? int.MaxValue : 8,
    };

    private static Kernels Super<T>() where T : struct, ISuperBlock => new()
    {
        Dot = &SuperBlockKernels<T>.Dot,
        Dot4 = &RowTiles<SuperBlockRow<T>>.Dot4Rows,
        Tile4x4 = &SuperBlockKernels<T>.Tile4x4,
        Tile4x8 = &SuperBlockKernels<T>.Tile4x8,
        PanelPack = AvxVnni.IsSupported ? &SuperBlockPanels<T>.Pack : null,
        PanelMultiply = AvxVnni.IsSupported ? &SuperBlockPanels<T>.Multiply : null,
        // Measured against the 4×8 register tiles (2 threads, 2048 columns): Q3_K's and Q5_K's tiles 6–12 % faster at
        // 40 tokens, the panels 0–4 % faster at 64.
        PanelMinTokens = 56,
    };

    /// <summary>Kernels built on the scalar twins (used without AVX2, and as the reference in tests).</summary>
    public static Kernels ScalarKernels(GgmlType type) => type switch
    {
        GgmlType.Q4_0 => Scalar<ScalarQ4_0>(),
        GgmlType.Q4_1 => Scalar<ScalarQ4_1>(),
        GgmlType.Q5_0 => Scalar<ScalarQ5_0>(),
        GgmlType.Q5_1 => Scalar<ScalarQ5_1>(),
        GgmlType.Q8_0 => Scalar<ScalarQ8_0>(),
        GgmlType.IQ4_NL => Scalar<ScalarIQ4_NL>(),
        GgmlType.Q2_K => Scalar<ScalarQ2_K>(),
        GgmlType.Q3_K => Scalar<ScalarQ3_K>(),
        GgmlType.Q4_K => Scalar<ScalarQ4_K>(),
        GgmlType.Q5_K => Scalar<ScalarQ5_K>(),
        GgmlType.Q6_K => Scalar<ScalarQ6_K>(),
        _ => throw new NotSupportedException($"no quantized dot product for {type}"),
    };

    private static Kernels Scalar<T>() where T : struct, IRowDot => new()
    {
        Dot = &T.Dot,
        Dot4 = &RowTiles<T>.Dot4Rows,
        Tile4x4 = &RowTiles<T>.Tile4x4,
    };

    /// <summary>The scalar reference dot product for a weight type.</summary>
    public static delegate*<byte*, Q8Row, int, float> ScalarFor(GgmlType type) => type switch
    {
        GgmlType.Q4_0 => &Q4_0Scalar,
        GgmlType.Q4_1 => &Q4_1Scalar,
        GgmlType.Q5_0 => &Q5_0Scalar,
        GgmlType.Q5_1 => &Q5_1Scalar,
        GgmlType.Q8_0 => &Q8_0Scalar,
        GgmlType.IQ4_NL => &IQ4_NLScalar,
        GgmlType.Q2_K => &Q2_KScalar,
        GgmlType.Q3_K => &Q3_KScalar,
        GgmlType.Q4_K => &Q4_KScalar,
        GgmlType.Q5_K => &Q5_KScalar,
        GgmlType.Q6_K => &Q6_KScalar,
        _ => throw new NotSupportedException($"no quantized dot product for {type}"),
    };
}
