using BenchmarkDotNet.Attributes;
using SharpInfer.Kernels;
using SharpInfer.Tensors;

namespace SharpInfer.Bench;

/// <summary>The float kernels of a layer (dots, RMSNorm, SwiGLU, softmax, RoPE), each SIMD path beside its scalar twin.</summary>
[MemoryDiagnoser]
public unsafe class FloatKernelBenchmarks
{
    private NativeBuffer<float> _a = null!, _b = null!, _y = null!, _rope = null!, _heads = null!;
    private NativeBuffer<ushort> _half = null!;

    /// <summary>Vector length.</summary>
    [Params(2048, 5632)]
    public int Length { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _a = BenchData.Floats(Length, seed: 6);
        _b = BenchData.Floats(Length, seed: 7);
        _y = new NativeBuffer<float>(Length);
        _half = new NativeBuffer<ushort>(Length);
        for (int i = 0; i < Length; i++) _half.Pointer[i] = HalfFloat.FromSingle(_a.Pointer[i]);
        _rope = new NativeBuffer<float>(64);
        Rope.BuildCache(new RopeParameters(64), 1234, _rope.Pointer);
        _heads = BenchData.Floats(Length, seed: 8);
    }

    /// <summary>f32 · f32.</summary>
    [Benchmark] public float DotF32() => Dot.F32(_a.Pointer, _b.Pointer, Length);
    /// <summary>Scalar twin.</summary>
    [Benchmark] public float DotF32Scalar() => Dot.F32Scalar(_a.Pointer, _b.Pointer, Length);
    /// <summary>f16 weights · f32.</summary>
    [Benchmark] public float DotF16() => FloatDot.F16(_half.Pointer, _b.Pointer, Length);
    /// <summary>Scalar twin.</summary>
    [Benchmark] public float DotF16Scalar() => FloatDot.F16Scalar(_half.Pointer, _b.Pointer, Length);
    /// <summary>RMSNorm with weights.</summary>
    [Benchmark] public void RmsNormSimd() => RmsNorm.Apply(_a.Pointer, _b.Pointer, _y.Pointer, Length, 1e-5f);
    /// <summary>Scalar twin.</summary>
    [Benchmark] public void RmsNormScalar() => RmsNorm.ApplyScalar(_a.Pointer, _b.Pointer, _y.Pointer, Length, 1e-5f);
    /// <summary>silu(gate)·up.</summary>
    [Benchmark] public void SwiGluSimd() => SwiGlu.Apply(_a.Pointer, _b.Pointer, _y.Pointer, Length);
    /// <summary>Scalar twin.</summary>
    [Benchmark] public void SwiGluScalar() => SwiGlu.ApplyScalar(_a.Pointer, _b.Pointer, _y.Pointer, Length);

    /// <summary>Softmax in place (on a copy, so every call sees the same input).</summary>
    [Benchmark]
    public double SoftmaxSimd()
    {
        Buffer.MemoryCopy(_a.Pointer, _y.Pointer, Length * 4L, Length * 4L);
        return Softmax.Apply(_y.Pointer, Length);
    }

    /// <summary>Scalar twin.</summary>
    [Benchmark]
    public void SoftmaxScalar()
    {
        Buffer.MemoryCopy(_a.Pointer, _y.Pointer, Length * 4L, Length * 4L);
        Softmax.ApplyScalar(_y.Pointer, Length);
    }

    /// <summary>RoPE over Length/64 heads of 64 (rotating in place: the values stay bounded).</summary>
    [Benchmark] public void RopeSimd() => Rope.Apply(_heads.Pointer, Length / 64, 64, _rope.Pointer, 64, neox: false);
    /// <summary>Scalar twin.</summary>
    [Benchmark] public void RopeScalar() => Rope.ApplyScalar(_heads.Pointer, Length / 64, 64, _rope.Pointer, 64, neox: false);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var b in new IDisposable[] { _a, _b, _y, _rope, _heads, _half }) b.Dispose();
    }
}
