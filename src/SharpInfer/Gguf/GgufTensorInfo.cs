using SharpInfer.Tensors;

namespace SharpInfer.Gguf;

/// <summary>
/// One tensor's entry in a GGUF file: name, element type, shape (ggml order: <c>Shape[0]</c> is the row length,
/// the fastest-varying dimension) and the offset of its data inside the data section.
/// </summary>
public sealed class GgufTensorInfo
{
    /// <summary>Creates a tensor description; the shape must hold whole blocks per row.</summary>
    public GgufTensorInfo(string name, GgmlType type, long[] shape, long offset)
    {
        Name = name;
        Type = type;
        Shape = shape;
        Offset = offset;
        long elements = 1;
        foreach (long d in shape) elements = checked(elements * d);
        ElementCount = elements;
        RowLength = shape.Length > 0 ? shape[0] : 1;
        RowCount = RowLength == 0 ? 0 : elements / RowLength;
        RowBytes = GgmlTypeInfo.RowBytes(type, RowLength);
        ByteSize = checked(RowBytes * RowCount);
    }

    /// <summary>Tensor name, e.g. <c>blk.0.attn_q.weight</c>.</summary>
    public string Name { get; }

    /// <summary>Storage format.</summary>
    public GgmlType Type { get; }

    /// <summary>Dimensions, innermost first (ggml's <c>ne</c>).</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Offset of the data from the start of the data section.</summary>
    public long Offset { get; }

    /// <summary>Total number of elements.</summary>
    public long ElementCount { get; }

    /// <summary>Elements per row (<c>Shape[0]</c>).</summary>
    public long RowLength { get; }

    /// <summary>Number of rows (product of the outer dimensions).</summary>
    public long RowCount { get; }

    /// <summary>Bytes per row.</summary>
    public long RowBytes { get; }

    /// <summary>Bytes of data.</summary>
    public long ByteSize { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Count;

    /// <summary>The shape as "[a, b, …]".</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <inheritdoc />
    public override string ToString() => $"{Name} {Type} {ShapeText}";
}
