using SharpInfer.Tensors;

namespace SharpInfer.KvCache;

/// <summary>One pool of cells with its own K/V storage for every layer.</summary>
public sealed unsafe class KvStream : IDisposable
{
    private readonly NativeBuffer<byte>[] _k;
    private readonly NativeBuffer<byte>?[] _v;

    internal KvStream(int cells, IReadOnlyList<KvLayerShape> layers, GgmlType typeK, GgmlType typeV)
    {
        Cells = new KvCells(cells);
        TypeK = typeK;
        TypeV = typeV;
        _k = new NativeBuffer<byte>[layers.Count];
        _v = new NativeBuffer<byte>?[layers.Count];
        KRowBytes = new long[layers.Count];
        VRowBytes = new long[layers.Count];
        try
        {
            for (int l = 0; l < layers.Count; l++)
            {
                KRowBytes[l] = GgmlTypeInfo.RowBytes(typeK, layers[l].KWidth);
                _k[l] = new NativeBuffer<byte>(KRowBytes[l] * cells);
                if (layers[l].VWidth > 0)
                {
                    VRowBytes[l] = GgmlTypeInfo.RowBytes(typeV, layers[l].VWidth);
                    _v[l] = new NativeBuffer<byte>(VRowBytes[l] * cells);
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Cell metadata.</summary>
    public KvCells Cells { get; }

    /// <summary>Key storage type.</summary>
    public GgmlType TypeK { get; }

    /// <summary>Value storage type.</summary>
    public GgmlType TypeV { get; }

    /// <summary>Bytes of one K row per layer.</summary>
    public long[] KRowBytes { get; }

    /// <summary>Bytes of one V row per layer (0 when the layer has no V).</summary>
    public long[] VRowBytes { get; }

    /// <summary>Pointer to the K row of a cell.</summary>
    public byte* KRow(int layer, int cell) => _k[layer].Pointer + cell * KRowBytes[layer];

    /// <summary>Pointer to the V row of a cell (null when the layer has no V).</summary>
    public byte* VRow(int layer, int cell) => _v[layer] is { } v ? v.Pointer + cell * VRowBytes[layer] : null;

    /// <summary>Bytes of K storage.</summary>
    public long KBytes => _k.Sum(b => b?.ByteSize ?? 0);

    /// <summary>Bytes of V storage.</summary>
    public long VBytes => _v.Sum(b => b?.ByteSize ?? 0);

    /// <summary>Copies every layer's K and V rows of one cell to another (possibly in another stream of the same shape).</summary>
    internal void CopyCell(int from, KvStream target, int to)
    {
        for (int l = 0; l < _k.Length; l++)
        {
            Buffer.MemoryCopy(KRow(l, from), target.KRow(l, to), KRowBytes[l], KRowBytes[l]);
            if (_v[l] is not null) Buffer.MemoryCopy(VRow(l, from), target.VRow(l, to), VRowBytes[l], VRowBytes[l]);
        }
    }

    /// <summary>Frees the storage.</summary>
    public void Dispose()
    {
        foreach (var b in _k) b?.Dispose();
        foreach (var b in _v) b?.Dispose();
    }
}
