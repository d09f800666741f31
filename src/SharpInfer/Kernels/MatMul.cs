using SharpInfer.Tensors;
using SharpInfer.Threading;

namespace SharpInfer.Kernels;

/// <summary>Activations prepared once for several matrix products that share the same input.</summary>
public readonly unsafe struct PreparedActivations
{
    internal PreparedActivations(float* x, int tokens, int columns, Q8Row q32, Q8Row q256, bool has32, bool has256, void* quadMeta32, void* quadMeta256)
    {
        QuadMeta32 = quadMeta32;
        QuadMeta256 = quadMeta256;
        X = x;
        Tokens = tokens;
        Columns = columns;
        Q32 = q32;
        Q256 = q256;
        Has32 = has32;
        Has256 = has256;
    }

    /// <summary>The f32 activations, <see cref="Tokens"/> rows of <see cref="Columns"/>.</summary>
    public float* X { get; }
    /// <summary>Number of activation rows.</summary>
    public int Tokens { get; }
    /// <summary>Elements per row.</summary>
    public int Columns { get; }
    internal Q8Row Q32 { get; }
    internal Q8Row Q256 { get; }
    internal bool Has32 { get; }
    internal bool Has256 { get; }
    internal void* QuadMeta32 { get; }
    internal void* QuadMeta256 { get; }

    /// <summary>
    /// Rows [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>) of these activations, for a
    /// product that reads only some of the prepared rows (one expert's tokens, one attention head's inputs). The
    /// token-quad metadata of the tile and panel kernels is kept when the slice starts on a quad (a multiple of four),
    /// else those kernels give way to the row kernels.
    /// </summary>
    public PreparedActivations Slice(int first, int count)
    {
        if (first < 0 || count < 0 || first + count > Tokens) throw new ArgumentOutOfRangeException(nameof(first), $"rows {first}..{first + count} of {Tokens}");
        bool onQuad = first % 4 == 0;
        void* meta32 = onQuad && QuadMeta32 != null ? (int*)QuadMeta32 + first / 4 * QuantizedDot.PanelQuadDwords(Columns, false) : null;
        void* meta256 = onQuad && QuadMeta256 != null ? (int*)QuadMeta256 + first / 4 * QuantizedDot.PanelQuadDwords(Columns, true) : null;
        return new PreparedActivations(X + (long)first * Columns, count, Columns,
            Has32 ? MatMul.Offset32(Q32, first, Columns) : Q32, Has256 ? MatMul.Offset256(Q256, first, Columns) : Q256,
            Has32, Has256, meta32, meta256);
    }
}

/// <summary>
/// Matrix products y = x·Wᵀ with W in its stored format. Quantized W: the activations are quantized to 8 bits once
/// (in the layouts the weight formats need) and the product runs on integer kernels — for decode row after row
/// (one prefetched stream per thread, see <see cref="DecodePrefetch"/>), for a few tokens four-by-four and
/// four-by-eight register tiles, for prefill packed panels, with tokens processed in blocks that stay in L2 while the
/// weight rows stream past; from two tokens on sixteen-by-eight tiles take over (4-bit formats on AVX-512BW for any
/// batch, parallel decode and prefill alike; the other 32-element formats with AVX-VNNI up to eight tokens).
/// f32/f16/bf16 W use f32 activations. Without panels the rows (of one or several matrices) are handed to the compute
/// pool as guided ranges of row units (quads, or sixteen-row tiles); prefill hands out whole panels.
/// </summary>
public sealed unsafe class MatMul : IDisposable
{
    /// <summary>Tokens whose quantized activations are kept hot in L2 while a chunk's weight rows pass.</summary>
    private const int TokenBlock = 64;

    /// <summary>Tokens a packed panel meets before the next panel is packed (their activations stay in L2).</summary>
    private const int PanelTokenBlock = 128;

    private readonly int _maxTokens;
    private readonly int _maxColumns;
    private readonly long _maxElements, _metaDwords32, _metaDwords256;
    private readonly NativeBuffer<sbyte> _qs32, _qs256;
    private readonly NativeBuffer<float> _d32, _ss32, _d256, _bss, _rowScratch;
    private readonly NativeBuffer<int> _sums32;
    private readonly NativeBuffer<short> _bsums;
    private readonly NativeBuffer<byte> _panels;
    private readonly NativeBuffer<int> _quadMeta32, _quadMeta256;
    private readonly long _panelStride;

    /// <summary>Allocates activation scratch for up to <paramref name="maxTokens"/> rows of <paramref name="maxColumns"/>.</summary>
    public MatMul(int maxTokens, int maxColumns, int threads) : this([(maxTokens, maxColumns)], threads)
    {
    }

    /// <summary>
    /// Allocates activation scratch for any of <paramref name="shapes"/> (rows × columns of activations one
    /// <see cref="Prepare"/> may be given): a model whose parts prepare many short rows (attention heads, experts'
    /// tokens) and others few long ones gets room for the largest of each, not for the longest rows times the most rows.
    /// </summary>
    public MatMul(IReadOnlyList<(int Rows, int Columns)> shapes, int threads)
    {
        if (shapes.Count == 0) throw new ArgumentException("no activation shapes", nameof(shapes));
        _maxTokens = shapes.Max(s => s.Rows);
        _maxColumns = shapes.Max(s => s.Columns);
        _maxElements = shapes.Max(s => (long)s.Rows * s.Columns);
        _metaDwords32 = shapes.Max(s => MetaDwords(s.Rows, s.Columns, false));
        _metaDwords256 = shapes.Max(s => MetaDwords(s.Rows, s.Columns, true));
        long n = _maxElements;
        _qs32 = new NativeBuffer<sbyte>(n);
        _qs256 = new NativeBuffer<sbyte>(n);
        _d32 = new NativeBuffer<float>(n / 32 + 1);
        _ss32 = new NativeBuffer<float>(n / 32 + 1);
        _sums32 = new NativeBuffer<int>(n / 32 + 1);
        _d256 = new NativeBuffer<float>(n / 256 + 1);
        _bsums = new NativeBuffer<short>(n / 16 + 1);
        _bss = new NativeBuffer<float>(n / 16 + 1);
        _rowScratch = new NativeBuffer<float>((long)threads * _maxColumns + 16);
        _panelStride = (QuantizedDot.PanelScratchBytes(_maxColumns) + 63) / 64 * 64;
        _panels = new NativeBuffer<byte>(threads * _panelStride);
        _quadMeta32 = new NativeBuffer<int>(_metaDwords32);
        _quadMeta256 = new NativeBuffer<int>(_metaDwords256);
    }

    /// <summary>Dwords of token-quad metadata for <paramref name="rows"/> activation rows of <paramref name="columns"/>.</summary>
    private static long MetaDwords(int rows, int columns, bool super) => ((long)rows / 4 + 1) * QuantizedDot.PanelQuadDwords(columns, super) + 16;

    private IEnumerable<IDisposable> Buffers => [_qs32, _qs256, _d32, _ss32, _sums32, _d256, _bsums, _bss, _rowScratch, _panels, _quadMeta32, _quadMeta256];

    /// <summary>
    /// Bytes of scratch a <see cref="MatMul"/> for these activation shapes holds, computed without allocating (what
    /// <see cref="ScratchBytes"/> will report), for checking that a context fits before it is built.
    /// </summary>
    public static long ScratchBytesFor(IReadOnlyList<(int Rows, int Columns)> shapes, int threads)
    {
        long n = shapes.Max(s => (long)s.Rows * s.Columns);
        int maxColumns = shapes.Max(s => s.Columns);
        long panelStride = (QuantizedDot.PanelScratchBytes(maxColumns) + 63) / 64 * 64;
        long meta = shapes.Max(s => MetaDwords(s.Rows, s.Columns, false)) + shapes.Max(s => MetaDwords(s.Rows, s.Columns, true));
        return checked(2 * n + (n / 32 + 1) * 3 * sizeof(float) + (n / 256 + 1) * sizeof(float) + (n / 16 + 1) * (sizeof(short) + sizeof(float))
            + ((long)threads * maxColumns + 16) * sizeof(float) + threads * panelStride + meta * sizeof(int));
    }

    /// <summary>As <see cref="ScratchBytesFor(IReadOnlyList{ValueTuple{int, int}}, int)"/> for one shape.</summary>
    public static long ScratchBytesFor(int maxTokens, int maxColumns, int threads) => ScratchBytesFor([(maxTokens, maxColumns)], threads);

    /// <summary>
    /// The format activations are rounded to before a product with <paramref name="weights"/>: 8-bit blocks of 32
    /// (<see cref="GgmlType.Q8_0"/>) or 256 (<see cref="GgmlType.Q8_K"/>) for quantized weights, none
    /// (<see cref="GgmlType.F32"/>) for float ones.
    /// </summary>
    public static GgmlType ActivationFormat(GgmlType weights) =>
        !QuantizedDot.IsQuantizedPath(weights) ? GgmlType.F32 : QuantizedDot.UsesSuperBlocks(weights) ? GgmlType.Q8_K : GgmlType.Q8_0;

    /// <summary>Bytes of scratch memory held.</summary>
    public long ScratchBytes => _qs32.ByteSize + _qs256.ByteSize + _d32.ByteSize + _ss32.ByteSize + _sums32.ByteSize + _d256.ByteSize + _bsums.ByteSize + _bss.ByteSize + _rowScratch.ByteSize + _panels.ByteSize + _quadMeta32.ByteSize + _quadMeta256.ByteSize;

    /// <summary>
    /// Quantizes <paramref name="x"/> into the layouts that <paramref name="types"/> need (pass every weight type the
    /// activations will meet).
    /// </summary>
    public PreparedActivations Prepare(ComputePool pool, float* x, int tokens, int columns, ReadOnlySpan<GgmlType> types)
    {
        if (tokens > _maxTokens || columns > _maxColumns || (long)tokens * columns > _maxElements
            || MetaDwords(tokens, columns, false) > _metaDwords32 || MetaDwords(tokens, columns, true) > _metaDwords256)
        {
            throw new ArgumentException($"{tokens}×{columns} activations exceed the scratch this product was sized for");
        }
        bool need32 = false, need256 = false, meta32 = false, meta256 = false;
        foreach (var t in types)
        {
            if (!QuantizedDot.IsQuantizedPath(t)) continue;
            // The token quads' metadata only where a kernel of these types will read it for this many tokens.
            bool meta = tokens >= QuantizedDot.KernelsFor(t).QuadMetaMinTokens;
            if (QuantizedDot.UsesSuperBlocks(t)) (need256, meta256) = (true, meta256 | meta);
            else (need32, meta32) = (true, meta32 | meta);
        }
        var q32 = new Q8Row { Qs = _qs32.Pointer, D = _d32.Pointer, Sums = _sums32.Pointer, SumsScaled = _ss32.Pointer };
        var q256 = new Q8Row { Qs = _qs256.Pointer, D = _d256.Pointer, BSums = _bsums.Pointer, BSumsScaled = _bss.Pointer };
        if (need32 || need256)
        {
            var job = new QuantizeJob { X = x, Columns = columns, Q32 = q32, Q256 = q256, Do32 = need32, Do256 = need256 };
            pool.For(tokens, &QuantizeToken, &job, Math.Max(1, tokens / (pool.ThreadCount * 4)));
        }
        if (meta32)
        {
            var meta = new QuadMetaJob { First = q32, Columns = columns, Tokens = tokens, Meta = _quadMeta32.Pointer, Super = false };
            pool.For((tokens + 3) / 4, &BuildQuadMeta, &meta);
        }
        if (meta256)
        {
            var meta = new QuadMetaJob { First = q256, Columns = columns, Tokens = tokens, Meta = _quadMeta256.Pointer, Super = true };
            pool.For((tokens + 3) / 4, &BuildQuadMeta, &meta);
        }
        return new PreparedActivations(x, tokens, columns, q32, q256, need32, need256,
            meta32 ? _quadMeta32.Pointer : null, meta256 ? _quadMeta256.Pointer : null);
    }

    private struct QuadMetaJob
    {
        public Q8Row First;
        public int Columns, Tokens;
        public int* Meta;
        public bool Super;
    }

    private static void BuildQuadMeta(void* context, int quad, int thread)
    {
        ref var job = ref *(QuadMetaJob*)context;
        QuantizedDot.BuildPanelQuad(job.First, job.Columns, job.Tokens, quad, job.Super, job.Meta + quad * QuantizedDot.PanelQuadDwords(job.Columns, job.Super));
    }

    private struct QuantizeJob
    {
        public float* X;
        public int Columns;
        public Q8Row Q32, Q256;
        public bool Do32, Do256;
    }

    private static void QuantizeToken(void* context, int t, int thread)
    {
        ref var job = ref *(QuantizeJob*)context;
        float* x = job.X + (long)t * job.Columns;
        if (job.Do32) ActivationQuantizer.Quantize32(x, job.Columns, Offset32(job.Q32, t, job.Columns));
        if (job.Do256) ActivationQuantizer.Quantize256(x, job.Columns, Offset256(job.Q256, t, job.Columns));
    }

    internal static Q8Row Offset32(Q8Row r, int t, int columns) => new()
    {
        Qs = r.Qs + (long)t * columns,
        D = r.D + (long)t * (columns / 32),
        Sums = r.Sums + (long)t * (columns / 32),
        SumsScaled = r.SumsScaled + (long)t * (columns / 32),
    };

    internal static Q8Row Offset256(Q8Row r, int t, int columns) => new()
    {
        Qs = r.Qs + (long)t * columns,
        D = r.D + (long)t * (columns / 256),
        BSums = r.BSums + (long)t * (columns / 16),
        BSumsScaled = r.BSumsScaled + (long)t * (columns / 16),
    };

    /// <summary>y[t·Rows + r] = Σ_c W[r, c]·x[t, c] for every token t.</summary>
    public void Multiply(ComputePool pool, in MatrixView w, in PreparedActivations a, float* y)
    {
        var group = new GroupJob();
        group.Add(CreateJob(pool, w, a, y));
        Run(pool, ref group);
    }

    /// <summary>
    /// Several products of the same activations (such as the query, key and value projections) as one job: in decode
    /// their rows form one range that the threads share, so no thread waits at the end of each matrix and the small
    /// ones do not run on their own. Up to <see cref="GroupJob.Capacity"/> matrices; <paramref name="outputs"/> holds
    /// each result's address.
    /// </summary>
    public void Multiply(ComputePool pool, ReadOnlySpan<MatrixView> weights, in PreparedActivations a, ReadOnlySpan<nint> outputs)
    {
        if (weights.Length != outputs.Length) throw new ArgumentException($"{weights.Length} matrices but {outputs.Length} outputs");
        if (weights.Length > GroupJob.Capacity) throw new ArgumentException($"at most {GroupJob.Capacity} matrices per group, got {weights.Length}");
        var group = new GroupJob();
        for (int i = 0; i < weights.Length; i++) group.Add(CreateJob(pool, weights[i], a, (float*)outputs[i]));
        Run(pool, ref group);
    }

    /// <summary>
    /// Products of several matrices, each against its own activations (slices of one <see cref="Prepare"/>, see
    /// <see cref="PreparedActivations.Slice"/>: the tokens routed to one expert, the inputs of one attention head),
    /// handed to the pool <see cref="GroupJob.Capacity"/> matrices at a time, so that many small products share a
    /// dispatch and the threads share their rows. Products of no tokens are skipped.
    /// </summary>
    public void Multiply(ComputePool pool, ReadOnlySpan<MatrixView> weights, ReadOnlySpan<PreparedActivations> activations, ReadOnlySpan<nint> outputs)
    {
        if (weights.Length != outputs.Length || weights.Length != activations.Length)
        {
            throw new ArgumentException($"{weights.Length} matrices, {activations.Length} activations and {outputs.Length} outputs");
        }
        var group = new GroupJob();
        for (int i = 0; i < weights.Length; i++)
        {
            if (activations[i].Tokens == 0) continue;
            group.Add(CreateJob(pool, weights[i], activations[i], (float*)outputs[i]));
            if (group.Count < GroupJob.Capacity) continue;
            Run(pool, ref group);
            group = new GroupJob();
        }
        if (group.Count > 0) Run(pool, ref group);
    }

    private MultiplyJob CreateJob(ComputePool pool, in MatrixView w, in PreparedActivations a, float* y)
    {
        if (w.Columns != a.Columns) throw new ArgumentException($"{w.Name}: {w.Columns} columns against activations of {a.Columns}");
        bool quantized = QuantizedDot.IsQuantizedPath(w.Type);
        bool super = QuantizedDot.UsesSuperBlocks(w.Type);
        if (quantized && (super ? !a.Has256 : !a.Has32)) throw new InvalidOperationException($"{w.Name}: activations were not prepared for {w.Type}");
        if (!quantized && w.Type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16))
        {
            throw new NotSupportedException($"{w.Name}: matrix products with {w.Type} weights are not supported");
        }
        var job = new MultiplyJob
        {
            W = w.Data,
            RowBytes = w.RowBytes,
            Rows = w.Rows,
            Columns = w.Columns,
            Type = w.Type,
            Tokens = a.Tokens,
            X = a.X,
            Y = y,
            Act = super ? a.Q256 : a.Q32,
            Super = super,
            Quantized = quantized,
            Kernels = quantized ? QuantizedDot.KernelsFor(w.Type) : default,
            RowScratch = _rowScratch.Pointer,
            Panels = _panels.Pointer,
            PanelStride = _panelStride,
        };
        // Panels pay off once a packed panel meets enough tokens to amortise the packing.
        job.QuadMeta = super ? a.QuadMeta256 : a.QuadMeta32;
        job.UseWideTiles = quantized && job.Kernels.Tile16x8 != null && job.QuadMeta != null
            && a.Tokens >= job.Kernels.Tile16x8MinTokens && a.Tokens <= job.Kernels.Tile16x8MaxTokens;
        job.UsePanels = !job.UseWideTiles && quantized && job.Kernels.HasPanels && job.QuadMeta != null && a.Tokens >= job.Kernels.PanelMinTokens;
        // Work is handed out in whole units of the kernel that computes the rows (a row's result then never depends on
        // where a thread's share begins): quads, sixteen-row tiles, or panels.
        job.RowsPerUnit = job.UseWideTiles ? QuantizedDot.Kernels.Tile16x8Rows : 4;
        job.RowsPerChunk = ChooseChunk(w.Rows, pool.ThreadCount, job.UsePanels ? QuantizedDot.PanelRows : job.RowsPerUnit);
        return job;
    }

    private static void Run(ComputePool pool, ref GroupJob group)
    {
        bool panels = false;
        for (int i = 0; i < group.Count; i++) panels |= group[i].UsePanels;
        if (panels)
        {
            // Prefill: each matrix on its own, in chunks of whole panels handed out in order.
            for (int i = 0; i < group.Count; i++)
            {
                ref var job = ref group[i];
                int chunks = (job.Rows + job.RowsPerChunk - 1) / job.RowsPerChunk;
                fixed (MultiplyJob* p = &job) pool.For(chunks, &MultiplyChunk, p);
            }
            return;
        }
        // Decode and short batches: the matrices' row units as one range, handed out largest first. Consecutive units
        // are consecutive rows, so a thread's range is one stream for the row kernels' prefetch.
        fixed (GroupJob* g = &group) pool.ForRanges(group.Units, &MultiplyUnits, g, MinUnitsPerRange);
    }

    /// <summary>The shortest range of row units a thread takes (the last ones of a job).</summary>
    private const int MinUnitsPerRange = 4;

    /// <summary>Up to sixteen products (sharing activations or not), their row units (see <see cref="MultiplyJob.RowsPerUnit"/>) numbered one after the other.</summary>
    private struct GroupJob
    {
        public const int Capacity = 16;
        private JobArray _jobs;
        private fixed int _firstUnit[Capacity + 1];
        public int Count;

        public int Units => _firstUnit[Count];

        [System.Diagnostics.CodeAnalysis.UnscopedRef]
        public ref MultiplyJob this[int i] => ref _jobs[i];

        public int FirstUnit(int i) => _firstUnit[i];

        public void Add(in MultiplyJob job)
        {
            this[Count] = job;
            _firstUnit[Count + 1] = _firstUnit[Count] + (job.Rows + job.RowsPerUnit - 1) / job.RowsPerUnit;
            Count++;
        }
    }

    [System.Runtime.CompilerServices.InlineArray(GroupJob.Capacity)]
    private struct JobArray
    {
        private MultiplyJob _first;
    }

    private static void MultiplyUnits(void* context, int start, int end, int thread)
    {
        ref var group = ref *(GroupJob*)context;
        for (int i = 0; i < group.Count; i++)
        {
            int first = Math.Max(start, group.FirstUnit(i)), last = Math.Min(end, group.FirstUnit(i + 1));
            if (first >= last) continue;
            ref var job = ref group[i];
            int unit = job.RowsPerUnit;
            int firstRow = (first - group.FirstUnit(i)) * unit, lastRow = Math.Min(job.Rows, (last - group.FirstUnit(i)) * unit);
            if (job.UseWideTiles) WideTileChunk(ref job, firstRow, lastRow);
            else if (job.Quantized) QuantizedChunk(ref job, firstRow, lastRow);
            else FloatChunk(ref job, firstRow, lastRow, thread);
        }
    }

    /// <summary>Single-use convenience: prepares the activations for this matrix and multiplies.</summary>
    public void Multiply(ComputePool pool, in MatrixView w, float* x, int tokens, float* y)
    {
        var a = Prepare(pool, x, tokens, w.Columns, [w.Type]);
        Multiply(pool, w, a, y);
    }

    private static int ChooseChunk(int rows, int threads, int multiple)
    {
        // Several chunks per thread for the dynamic hand-out to even out; whole row groups for the kernels.
        int target = rows / (threads * 8);
        return Math.Clamp((target + multiple - 1) / multiple * multiple, multiple, 256);
    }

    private struct MultiplyJob
    {
        public byte* W;
        public long RowBytes;
        public int Rows, Columns, Tokens, RowsPerChunk;
        /// <summary>Rows of the kernel that computes them: work is never split inside a unit.</summary>
        public int RowsPerUnit;
        public GgmlType Type;
        public float* X, Y, RowScratch;
        public Q8Row Act;
        public bool Super, Quantized, UsePanels, UseWideTiles;
        public byte* Panels;
        public long PanelStride;
        public void* QuadMeta;
        public QuantizedDot.Kernels Kernels;

        public Q8Row Activation(int t) => Super ? Offset256(Act, t, Columns) : Offset32(Act, t, Columns);
    }

    private static void MultiplyChunk(void* context, int chunk, int thread)
    {
        ref var job = ref *(MultiplyJob*)context;
        int first = chunk * job.RowsPerChunk;
        int last = Math.Min(job.Rows, first + job.RowsPerChunk);
        if (job.UsePanels) PanelChunk(ref job, first, last, thread);
        else if (job.UseWideTiles) WideTileChunk(ref job, first, last);
        else if (job.Quantized) QuantizedChunk(ref job, first, last);
        else FloatChunk(ref job, first, last, thread);
    }

    private static void QuantizedChunk(ref MultiplyJob job, int first, int last)
    {
        int cols = job.Columns, rows = job.Rows, tokens = job.Tokens;
        var k = job.Kernels;
        long quadDwords = QuantizedDot.PanelQuadDwords(cols, job.Super);
        int quadEnd = first + (last - first) / 4 * 4;
        float* four = stackalloc float[4];
        for (int tb = 0; tb < tokens; tb += TokenBlock)
        {
            int tEnd = Math.Min(tokens, tb + TokenBlock);
            for (int r = first; r < quadEnd; r += 4)
            {
                byte* w = job.W + r * job.RowBytes;
                int t = tb;
                if (k.Tile4x8 != null && job.QuadMeta != null)
                {
                    for (; t + QuantizedDot.Kernels.Tile4x8Tokens <= tEnd; t += QuantizedDot.Kernels.Tile4x8Tokens)
                    {
                        void* meta = (int*)job.QuadMeta + t / 4 * quadDwords;
                        k.Tile4x8(w, job.RowBytes, job.Activation(t), meta, cols, job.Y + (long)t * rows + r, rows);
                    }
                }
                for (; t + 4 <= tEnd; t += 4)
                {
                    k.Tile4x4(w, job.RowBytes, job.Activation(t), job.Activation(t + 1), job.Activation(t + 2), job.Activation(t + 3), cols, job.Y + (long)t * rows + r, rows);
                }
                for (; t < tEnd; t++) k.Dot4(w, job.RowBytes, job.Activation(t), cols, job.Y + (long)t * rows + r);
            }
            for (int r = quadEnd; r < last; r++)
            {
                byte* w = job.W + r * job.RowBytes;
                for (int t = tb; t < tEnd; t++) job.Y[(long)t * rows + r] = k.Dot(w, job.Activation(t), cols);
            }
        }
    }

    /// <summary>
    /// Sixteen-row tiles against every eight tokens (a batch's last tile may hold fewer), in blocks of
    /// <see cref="PanelTokenBlock"/> tokens whose activations stay in L2 while the rows pass; a range's last rows (fewer
    /// than sixteen) take the four-row kernels.
    /// </summary>
    private static void WideTileChunk(ref MultiplyJob job, int first, int last)
    {
        const int tileRows = QuantizedDot.Kernels.Tile16x8Rows, tileTokens = QuantizedDot.Kernels.Tile16x8Tokens;
        int cols = job.Columns, rows = job.Rows, tokens = job.Tokens;
        var k = job.Kernels;
        long quadDwords = QuantizedDot.PanelQuadDwords(cols, job.Super);
        int tileEnd = first + (last - first) / tileRows * tileRows;
        for (int tb = 0; tb < tokens; tb += PanelTokenBlock)
        {
            int blockEnd = Math.Min(tokens, tb + PanelTokenBlock);
            for (int r = first; r < tileEnd; r += tileRows)
            {
                byte* w = job.W + r * job.RowBytes;
                for (int t = tb; t < blockEnd; t += tileTokens)
                {
                    void* meta = (int*)job.QuadMeta + t / 4 * quadDwords;
                    k.Tile16x8(w, job.RowBytes, job.Activation(t), meta, cols, Math.Min(tileTokens, blockEnd - t), job.Y + (long)t * rows + r, rows);
                }
            }
        }
        if (tileEnd < last) QuantizedChunk(ref job, tileEnd, last);
    }

    private static void PanelChunk(ref MultiplyJob job, int first, int last, int thread)
    {
        int cols = job.Columns, rows = job.Rows, tokens = job.Tokens;
        var k = job.Kernels;
        byte* panel = job.Panels + thread * job.PanelStride;
        long quadDwords = QuantizedDot.PanelQuadDwords(cols, job.Super);
        int panelEnd = first + (last - first) / QuantizedDot.PanelRows * QuantizedDot.PanelRows;
        for (int tb = 0; tb < tokens; tb += PanelTokenBlock)
        {
            int count = Math.Min(PanelTokenBlock, tokens - tb);
            sbyte* qs = job.Act.Qs + (long)tb * cols;
            void* meta = (int*)job.QuadMeta + tb / 4 * quadDwords;
            for (int r = first; r < panelEnd; r += QuantizedDot.PanelRows)
            {
                k.PanelPack(job.W + r * job.RowBytes, job.RowBytes, cols, panel);
                k.PanelMultiply(panel, cols, qs, meta, count, job.Y + (long)tb * rows + r, rows);
            }
        }
        if (panelEnd < last) QuantizedChunk(ref job, panelEnd, last);
    }

    private static void FloatChunk(ref MultiplyJob job, int first, int last, int thread)
    {
        int cols = job.Columns;
        float* scratch = job.RowScratch + (long)thread * job.Columns;
        for (int r = first; r < last; r++)
        {
            byte* raw = job.W + r * job.RowBytes;
            if (job.Tokens == 1 && job.Type != GgmlType.F32)
            {
                job.Y[r] = job.Type == GgmlType.F16 ? FloatDot.F16((ushort*)raw, job.X, cols) : FloatDot.BF16((ushort*)raw, job.X, cols);
                continue;
            }
            float* row = (float*)raw;
            if (job.Type == GgmlType.F16)
            {
                FloatDot.F16ToSingle((ushort*)raw, scratch, cols);
                row = scratch;
            }
            else if (job.Type == GgmlType.BF16)
            {
                FloatDot.BF16ToSingle((ushort*)raw, scratch, cols);
                row = scratch;
            }
            for (int t = 0; t < job.Tokens; t++) job.Y[(long)t * job.Rows + r] = Kernels.Dot.F32(row, job.X + (long)t * cols, cols);
        }
    }

    /// <summary>Frees the scratch.</summary>
    public void Dispose()
    {
        foreach (var b in Buffers) b.Dispose();
    }
}
