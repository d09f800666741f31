using BenchmarkDotNet.Attributes;
using SharpInfer.Kernels;
using SharpInfer.Tensors;
using SharpInfer.Threading;

namespace SharpInfer.Bench;

/// <summary>
/// y = x·Wᵀ for every weight format, as decode (1 token: four-row kernels), multi-sequence decode (4 and 8 tokens:
/// the 16×8 tiles' four- and eight-token forms — nibble tiles for Q4_0/Q4_1/Q4_K on AVX-512BW, VNNI tiles for the
/// other 32-element formats — else 4×8 or 4×4 tiles) and prefill (64 tokens: the nibble tiles, or packed panels
/// where the format has them), on one compute thread so the figure is the kernel's. 1024×2048 weights; the
/// activations are quantized once per call, as in the model.
/// </summary>
[MemoryDiagnoser]
public unsafe class QuantizedMatMulBenchmarks
{
    private const int Rows = 1024, Columns = 2048;
    private NativeBuffer<byte> _weights = null!;
    private NativeBuffer<float> _x = null!, _y = null!;
    private ComputePool _pool = null!;
    private MatMul _matMul = null!;

    /// <summary>Weight format.</summary>
    [Params(GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.IQ4_NL,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.F16, GgmlType.BF16, GgmlType.F32)]
    public GgmlType Type { get; set; }

    /// <summary>Activation rows per call.</summary>
    [Params(1, 4, 8, 64)]
    public int Tokens { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _weights = BenchData.Matrix(Type, Rows, Columns, seed: 1);
        _x = BenchData.Floats((long)Tokens * Columns, seed: 2);
        _y = new NativeBuffer<float>((long)Tokens * Rows);
        _pool = new ComputePool(1);
        _matMul = new MatMul(Tokens, Columns, 1);
    }

    /// <summary>One product.</summary>
    [Benchmark]
    public void Multiply() => _matMul.Multiply(_pool, new MatrixView(_weights.Pointer, Type, Rows, Columns, "w"), _x.Pointer, Tokens, _y.Pointer);

    [GlobalCleanup]
    public void Cleanup()
    {
        _matMul.Dispose();
        _pool.Dispose();
        _weights.Dispose();
        _x.Dispose();
        _y.Dispose();
    }
}
