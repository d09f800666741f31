using System.Runtime.InteropServices;

namespace SharpInfer.Tensors;

/// <summary>
/// A 64-byte aligned block of native memory for <typeparamref name="T"/> values: scratch for the forward pass
/// and storage for the KV cache. Not managed by the GC, so it never moves and costs no collections.
/// </summary>
public sealed unsafe class NativeBuffer<T> : IDisposable where T : unmanaged
{
    private T* _data;
    private readonly nuint _bytes;
    private readonly bool _mapped;

    /// <summary>Allocates <paramref name="length"/> zeroed elements.</summary>
    public NativeBuffer(long length)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length));
        Length = length;
        _bytes = (nuint)Math.Max(1, length * sizeof(T));
        // Buffers of a huge page or more get a mapping of their own in huge pages (see MemoryAdvice.MapHuge), which
        // the clearing below faults in 2 MiB at a time, so the memory is there before the first step.
        if ((long)_bytes >= MemoryAdvice.HugePageBytes) _data = (T*)MemoryAdvice.MapHuge(_bytes);
        _mapped = _data != null;
        if (!_mapped) _data = (T*)NativeMemory.AlignedAlloc(_bytes, 64);
        NativeMemory.Clear(_data, _bytes);
    }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>Bytes allocated for the elements.</summary>
    public long ByteSize => Length * sizeof(T);

    /// <summary>Pointer to the first element.</summary>
    public T* Pointer => _data != null ? _data : throw new ObjectDisposedException(nameof(NativeBuffer<T>));

    /// <summary>The elements as a span (buffers under 2^31 elements).</summary>
    public Span<T> Span => new(Pointer, checked((int)Length));

    /// <summary>Frees the memory.</summary>
    public void Dispose()
    {
        if (_data == null) return;
        Free();
        _data = null;
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the memory if the owner forgot to.</summary>
    ~NativeBuffer()
    {
        if (_data != null) Free();
    }

    private void Free()
    {
        if (_mapped) MemoryAdvice.UnmapHuge(_data, _bytes);
        else NativeMemory.AlignedFree(_data);
    }
}
