using BenchmarkDotNet.Attributes;
using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Bench;

/// <summary>Quantizing one activation row to 8 bits (done once per row before the integer products), SIMD and scalar.</summary>
[MemoryDiagnoser]
public unsafe class ActivationQuantizerBenchmarks
{
    private NativeBuffer<float> _x = null!;
    private Q8Rows _rows = null!;

    /// <summary>Row length (n_embd and n_ff of TinyLlama).</summary>
    [Params(2048, 5632)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _x = BenchData.Floats(Length, seed: 5);
        _rows = new Q8Rows(1, Length);
    }

    /// <summary>32-value blocks with sums (legacy formats).</summary>
    [Benchmark]
    public void Blocks32() => ActivationQuantizer.Quantize32(_x.Pointer, Length, _rows.Row(0, false));

    /// <summary>Scalar twin of <see cref="Blocks32"/>.</summary>
    [Benchmark(Baseline = true)]
    public void Blocks32Scalar() => ActivationQuantizer.Quantize32Scalar(_x.Pointer, Length, _rows.Row(0, false));

    /// <summary>256-value super-blocks with 16-value sums (K-quants).</summary>
    [Benchmark]
    public void SuperBlocks() => ActivationQuantizer.Quantize256(_x.Pointer, Length, _rows.Row(0, true));

    /// <summary>Scalar twin of <see cref="SuperBlocks"/>.</summary>
    [Benchmark]
    public void SuperBlocksScalar() => ActivationQuantizer.Quantize256Scalar(_x.Pointer, Length, _rows.Row(0, true));

    [GlobalCleanup]
    public void Cleanup()
    {
        _rows.Dispose();
        _x.Dispose();
    }
}
