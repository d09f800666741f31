using SharpInfer.Tensors;
using SharpInfer.Threading;

namespace SharpInfer.Kernels;

/// <summary>Activations prepared once for several matrix products that share the same input.</summary>
public readonly unsafe struct PreparedActivations
{
    internal PreparedActivations(float* x, int tokens, int columns, Q8Row q32, Q8Row q256, bool has32, bool has256)
    {
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
}

/// <summary>
/// Matrix products y = x·Wᵀ with W in its stored format: for quantized W the activations are quantized to 8 bits
/// once (two layouts, as the weight formats need) and every (row, token) pair is an integer dot product; f32/f16/bf16
/// W use f32 activations. Rows are split across the compute pool in chunks; within a chunk each weight row is read
/// once for all tokens.
/// </summary>
public sealed unsafe class MatMul : IDisposable
{
    private readonly int _maxTokens;
    private readonly int _maxColumns;
    private readonly NativeBuffer<sbyte> _qs32, _qs256;
    private readonly NativeBuffer<float> _d32, _d256, _rowScratch;
    private readonly NativeBuffer<int> _sums32;
    private readonly NativeBuffer<short> _bsums;

    /// <summary>Allocates activation scratch for up to <paramref name="maxTokens"/> rows of <paramref name="maxColumns"/>.</summary>
    public MatMul(int maxTokens, int maxColumns, int threads)
    {
        _maxTokens = maxTokens;
        _maxColumns = maxColumns;
        long n = (long)maxTokens * maxColumns;
        _qs32 = new NativeBuffer<sbyte>(n);
        _qs256 = new NativeBuffer<sbyte>(n);
        _d32 = new NativeBuffer<float>(n / 32 + 1);
        _sums32 = new NativeBuffer<int>(n / 32 + 1);
        _d256 = new NativeBuffer<float>(n / 256 + 1);
        _bsums = new NativeBuffer<short>(n / 16 + 1);
        _rowScratch = new NativeBuffer<float>((long)threads * maxColumns);
    }

    /// <summary>Bytes of scratch memory held.</summary>
    public long ScratchBytes => _qs32.ByteSize + _qs256.ByteSize + _d32.ByteSize + _sums32.ByteSize + _d256.ByteSize + _bsums.ByteSize + _rowScratch.ByteSize;

    /// <summary>
    /// Quantizes <paramref name="x"/> into the layouts that <paramref name="types"/> need (pass every weight type the
    /// activations will meet).
    /// </summary>
    public PreparedActivations Prepare(ComputePool pool, float* x, int tokens, int columns, ReadOnlySpan<GgmlType> types)
    {
        if (tokens > _maxTokens || columns > _maxColumns) throw new ArgumentException($"{tokens}×{columns} activations exceed the scratch of {_maxTokens}×{_maxColumns}");
        bool need32 = false, need256 = false;
        foreach (var t in types)
        {
            if (!QuantizedDot.IsQuantizedPath(t)) continue;
            if (QuantizedDot.UsesSuperBlocks(t)) need256 = true;
            else need32 = true;
        }
        var q32 = new Q8Row { Qs = _qs32.Pointer, D = _d32.Pointer, Sums = _sums32.Pointer };
        var q256 = new Q8Row { Qs = _qs256.Pointer, D = _d256.Pointer, BSums = _bsums.Pointer };
        if (need32 || need256)
        {
            var job = new QuantizeJob { X = x, Columns = columns, Q32 = q32, Q256 = q256, Do32 = need32, Do256 = need256 };
            pool.For(tokens, &QuantizeToken, &job);
        }
        return new PreparedActivations(x, tokens, columns, q32, q256, need32, need256);
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

    private static Q8Row Offset32(Q8Row r, int t, int columns) => new()
    {
        Qs = r.Qs + (long)t * columns,
        D = r.D + (long)t * (columns / 32),
        Sums = r.Sums + (long)t * (columns / 32),
    };

    private static Q8Row Offset256(Q8Row r, int t, int columns) => new()
    {
        Qs = r.Qs + (long)t * columns,
        D = r.D + (long)t * (columns / 256),
        BSums = r.BSums + (long)t * (columns / 16),
    };

    /// <summary>y[t·Rows + r] = Σ_c W[r, c]·x[t, c] for every token t.</summary>
    public void Multiply(ComputePool pool, in MatrixView w, in PreparedActivations a, float* y)
    {
        if (w.Columns != a.Columns) throw new ArgumentException($"{w.Name}: {w.Columns} columns against activations of {a.Columns}");
        bool quantized = QuantizedDot.IsQuantizedPath(w.Type);
        bool super = QuantizedDot.UsesSuperBlocks(w.Type);
        if (quantized && (super ? !a.Has256 : !a.Has32)) throw new InvalidOperationException($"{w.Name}: activations were not prepared for {w.Type}");
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
            Dot = quantized ? QuantizedDot.For(w.Type) : null,
            RowScratch = _rowScratch.Pointer,
            RowsPerChunk = ChooseChunk(w.Rows, pool.ThreadCount),
        };
        int chunks = (w.Rows + job.RowsPerChunk - 1) / job.RowsPerChunk;
        pool.For(chunks, &MultiplyChunk, &job);
    }

    /// <summary>Single-use convenience: prepares the activations for this matrix and multiplies.</summary>
    public void Multiply(ComputePool pool, in MatrixView w, float* x, int tokens, float* y)
    {
        var a = Prepare(pool, x, tokens, w.Columns, [w.Type]);
        Multiply(pool, w, a, y);
    }

    private static int ChooseChunk(int rows, int threads)
    {
        // Enough chunks per thread for the dynamic hand-out to even out, few enough that dispatch stays cheap.
        int target = Math.Max(1, rows / (threads * 8));
        return Math.Clamp(target, 1, 64);
    }

    private struct MultiplyJob
    {
        public byte* W;
        public long RowBytes;
        public int Rows, Columns, Tokens, RowsPerChunk;
        public GgmlType Type;
        public float* X, Y, RowScratch;
        public Q8Row Act;
        public bool Super, Quantized;
        public delegate*<byte*, Q8Row, int, float> Dot;
    }

    private static void MultiplyChunk(void* context, int chunk, int thread)
    {
        ref var job = ref *(MultiplyJob*)context;
        int first = chunk * job.RowsPerChunk;
        int last = Math.Min(job.Rows, first + job.RowsPerChunk);
        int cols = job.Columns;
        if (job.Quantized)
        {
            for (int r = first; r < last; r++)
            {
                byte* row = job.W + r * job.RowBytes;
                for (int t = 0; t < job.Tokens; t++)
                {
                    var act = job.Super ? Offset256(job.Act, t, cols) : Offset32(job.Act, t, cols);
                    job.Y[(long)t * job.Rows + r] = job.Dot(row, act, cols);
                }
            }
            return;
        }
        float* scratch = job.RowScratch + (long)thread * cols;
        for (int r = first; r < last; r++)
        {
            float* row;
            if (job.Type == GgmlType.F32)
            {
                row = (float*)(job.W + r * job.RowBytes);
            }
            else
            {
                Dequantize.Row(job.Type, job.W + r * job.RowBytes, scratch, cols);
                row = scratch;
            }
            for (int t = 0; t < job.Tokens; t++) job.Y[(long)t * job.Rows + r] = Kernels.Dot.F32(row, job.X + (long)t * cols, cols);
        }
    }

    /// <summary>Frees the scratch.</summary>
    public void Dispose()
    {
        _qs32.Dispose();
        _qs256.Dispose();
        _d32.Dispose();
        _sums32.Dispose();
        _d256.Dispose();
        _bsums.Dispose();
        _rowScratch.Dispose();
    }
}
