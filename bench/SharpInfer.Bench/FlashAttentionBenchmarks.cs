using BenchmarkDotNet.Attributes;
using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Bench;

/// <summary>
/// Attention of one decode token's eight query heads (TinyLlama's group) over one KV head's cached cells, in each
/// cache storage type: the flash kernel the model uses, and the scalar reference that materialises every score.
/// </summary>
[MemoryDiagnoser]
public unsafe class FlashAttentionBenchmarks
{
    private const int Group = 8, HeadDim = 64, KvHeads = 4;
    private NativeBuffer<byte> _k = null!, _v = null!;
    private NativeBuffer<float> _q = null!, _output = null!, _flashScratch = null!;
    private NativeBuffer<int> _range = null!;
    private int[] _cells = null!;
    private KvLayerView _view;

    /// <summary>Cache storage type.</summary>
    [Params(GgmlType.F16, GgmlType.Q8_0, GgmlType.F32)]
    public GgmlType CacheType { get; set; }

    /// <summary>Cached cells attended to.</summary>
    [Params(512, 4096)]
    public int Cells { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        long rowBytes = GgmlTypeInfo.RowBytes(CacheType, KvHeads * HeadDim);
        _k = BenchData.Matrix(CacheType, Cells, KvHeads * HeadDim, seed: 9);
        _v = BenchData.Matrix(CacheType, Cells, KvHeads * HeadDim, seed: 10);
        _view = new KvLayerView(_k.Pointer, rowBytes, CacheType, _v.Pointer, rowBytes, CacheType);
        _q = BenchData.Floats(Group * HeadDim, seed: 11);
        _output = new NativeBuffer<float>(Group * HeadDim);
        _flashScratch = new NativeBuffer<float>(FlashAttention.ScratchFloats(Group, HeadDim, HeadDim) + 64);
        _cells = Enumerable.Range(0, Cells).ToArray();
        _range = new NativeBuffer<int>(2);
        _range.Pointer[0] = 0;
        _range.Pointer[1] = Cells;
    }

    /// <summary>Flash kernel: transposed key tiles, online softmax.</summary>
    [Benchmark]
    public void Flash() => FlashAttention.Compute(_q.Pointer, 0, 1, Group, HeadDim, HeadDim, _view, 1, _cells,
        _range.Pointer, _range.Pointer + 1, 0.125f, _output.Pointer, 0, _flashScratch.Pointer);

    /// <summary>Scalar reference (allocates its score array).</summary>
    [Benchmark(Baseline = true)]
    public void Scalar() => Attention.ComputeScalar(_q.Pointer, Group, HeadDim, HeadDim, _view, 1, _cells, 0.125f, _output.Pointer);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in new IDisposable[] { _k, _v, _q, _output, _flashScratch, _range }) b.Dispose();
    }
}
