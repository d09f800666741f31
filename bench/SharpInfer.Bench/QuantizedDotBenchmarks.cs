using BenchmarkDotNet.Attributes;
using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Bench;

/// <summary>One weight row against one quantized activation row (4096 values): the SIMD kernel and its scalar twin.</summary>
[MemoryDiagnoser]
public unsafe class QuantizedDotBenchmarks
{
    private const int Columns = 4096;
    private NativeBuffer<byte> _row = null!;
    private NativeBuffer<float> _x = null!;
    private Q8Rows _activation = null!;
    private bool _super;
    private delegate*<byte*, Q8Row, int, float> _simd, _scalar;

    /// <summary>Weight format.</summary>
    [Params(GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.IQ4_NL,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K)]
    public GgmlType Type { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _row = BenchData.Matrix(Type, 1, Columns, seed: 3);
        _x = BenchData.Floats(Columns, seed: 4);
        _super = QuantizedDot.UsesSuperBlocks(Type);
        _activation = new Q8Rows(1, Columns);
        _activation.Quantize(_x.Pointer, 0, _super);
        _simd = QuantizedDot.For(Type);
        _scalar = QuantizedDot.ScalarFor(Type);
    }

    /// <summary>The dispatched SIMD kernel.</summary>
    [Benchmark]
    public float Simd() => _simd(_row.Pointer, _activation.Row(0, _super), Columns);

    /// <summary>The scalar reference twin.</summary>
    [Benchmark(Baseline = true)]
    public float Scalar() => _scalar(_row.Pointer, _activation.Row(0, _super), Columns);

    [GlobalCleanup]
    public void Cleanup()
    {
        _activation.Dispose();
        _row.Dispose();
        _x.Dispose();
    }
}
