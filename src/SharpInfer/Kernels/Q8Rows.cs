using SharpInfer.Tensors;

namespace SharpInfer.Kernels;

/// <summary>
/// Several activation rows quantized to 8 bits, in the 32-block and the 256-super-block layouts, in their own native
/// buffers: for kernel checks and benchmarks that call the integer kernels without a <see cref="MatMul"/>.
/// </summary>
public sealed unsafe class Q8Rows : IDisposable
{
    private readonly int _n;
    private readonly NativeBuffer<sbyte> _qs;
    private readonly NativeBuffer<float> _d, _ss, _bss;
    private readonly NativeBuffer<int> _sums;
    private readonly NativeBuffer<short> _bsums;

    /// <summary>Room for <paramref name="tokens"/> rows of <paramref name="n"/> values.</summary>
    public Q8Rows(int tokens, int n)
    {
        _n = n;
        _qs = new NativeBuffer<sbyte>((long)tokens * n);
        _d = new NativeBuffer<float>((long)tokens * n / 32 + 1);
        _ss = new NativeBuffer<float>((long)tokens * n / 32 + 1);
        _sums = new NativeBuffer<int>((long)tokens * n / 32 + 1);
        _bsums = new NativeBuffer<short>((long)tokens * n / 16 + 1);
        _bss = new NativeBuffer<float>((long)tokens * n / 16 + 1);
    }

    /// <summary>Row <paramref name="t"/> in the layout of 32-blocks or (<paramref name="super"/>) 256-super-blocks.</summary>
    public Q8Row Row(int t, bool super)
    {
        var all = new Q8Row { Qs = _qs.Pointer, D = _d.Pointer, Sums = _sums.Pointer, SumsScaled = _ss.Pointer, BSums = _bsums.Pointer, BSumsScaled = _bss.Pointer };
        return super ? MatMul.Offset256(all, t, _n) : MatMul.Offset32(all, t, _n);
    }

    /// <summary>Quantizes one row of values at <paramref name="x"/> into row <paramref name="t"/>.</summary>
    public void Quantize(float* x, int t, bool super)
    {
        if (super) ActivationQuantizer.Quantize256(x, _n, Row(t, super));
        else ActivationQuantizer.Quantize32(x, _n, Row(t, super));
    }

    /// <summary>Stores integer activations with unit scales and their consistent sums.</summary>
    internal void SetIntegers(int t, sbyte[] values, bool super)
    {
        var row = Row(t, super);
        int block = super ? 256 : 32;
        for (int i = 0; i < _n; i++) row.Qs[i] = values[i];
        for (int b = 0; b < _n / block; b++) row.D[b] = 1;
        if (super)
        {
            for (int g = 0; g < _n / 16; g++)
            {
                int sum = 0;
                for (int k = 0; k < 16; k++) sum += values[g * 16 + k];
                row.BSums[g] = (short)sum;
                row.BSumsScaled[g] = sum;
            }
        }
        else
        {
            for (int b = 0; b < _n / 32; b++)
            {
                int sum = 0;
                for (int k = 0; k < 32; k++) sum += values[b * 32 + k];
                row.Sums[b] = sum;
                row.SumsScaled[b] = sum;
            }
        }
    }

    internal bool SameAs(Q8Rows other, int n, bool super)
    {
        if (!_qs.Span.SequenceEqual(other._qs.Span)) return false;
        if (super) return _bsums.Span.SequenceEqual(other._bsums.Span) && _d.Span[..(n / 256)].SequenceEqual(other._d.Span[..(n / 256)]) && _bss.Span.SequenceEqual(other._bss.Span);
        return _sums.Span.SequenceEqual(other._sums.Span) && _d.Span[..(n / 32)].SequenceEqual(other._d.Span[..(n / 32)]) && _ss.Span.SequenceEqual(other._ss.Span);
    }

    /// <summary>Frees the buffers.</summary>
    public void Dispose()
    {
        _qs.Dispose();
        _d.Dispose();
        _ss.Dispose();
        _sums.Dispose();
        _bsums.Dispose();
        _bss.Dispose();
    }
}
