namespace SharpInfer.Tensors;

/// <summary>
/// A 2-D weight matrix in its stored format, viewed in place (usually inside the memory-mapped model file):
/// <see cref="Rows"/> output rows of <see cref="Columns"/> elements each, row-major, <see cref="RowBytes"/> apart.
/// </summary>
public readonly unsafe struct MatrixView
{
    /// <summary>Creates a view; the caller guarantees the memory outlives it.</summary>
    public MatrixView(byte* data, GgmlType type, int rows, int columns, string name)
    {
        Data = data;
        Type = type;
        Rows = rows;
        Columns = columns;
        RowBytes = GgmlTypeInfo.RowBytes(type, columns);
        Name = name;
    }

    /// <summary>First byte of row 0.</summary>
    public byte* Data { get; }

    /// <summary>Storage format.</summary>
    public GgmlType Type { get; }

    /// <summary>Number of rows (outputs).</summary>
    public int Rows { get; }

    /// <summary>Elements per row (inputs).</summary>
    public int Columns { get; }

    /// <summary>Bytes per row.</summary>
    public long RowBytes { get; }

    /// <summary>Tensor name, for error messages.</summary>
    public string Name { get; }

    /// <summary>Total bytes.</summary>
    public long ByteSize => RowBytes * Rows;

    /// <summary>Pointer to row <paramref name="row"/>.</summary>
    public byte* Row(int row) => Data + row * RowBytes;

    /// <summary>Dequantizes one row into <paramref name="destination"/> (Columns floats).</summary>
    public void DequantizeRow(int row, float* destination) => Dequantize.Row(Type, Row(row), destination, Columns);
}
