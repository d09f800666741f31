using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Models;

/// <summary>
/// Looks up a model's tensors by name and checks each against the shape its architecture declares. Matrices are
/// views into the memory map (never copied); small vectors stored as f16/bf16 are widened to f32 copies it owns.
/// Every problem is a <see cref="ModelLoadException"/> naming the tensor.
/// </summary>
public sealed unsafe class WeightBinder : IDisposable
{
    private readonly List<NativeBuffer<float>> _owned = new();

    /// <summary>Binds against <paramref name="file"/>.</summary>
    public WeightBinder(GgufFile file) => File = file;

    /// <summary>The file.</summary>
    public GgufFile File { get; }

    /// <summary>Whether the file has a tensor.</summary>
    public bool Has(string name) => File.FindTensor(name) is not null;

    /// <summary>A 2-D matrix of <paramref name="rows"/> rows of <paramref name="columns"/> elements.</summary>
    public MatrixView Matrix(string name, int columns, int rows)
    {
        var t = Find(name);
        if (t.Rank != 2 || t.Shape[0] != columns || t.Shape[1] != rows)
        {
            throw new ModelLoadException($"tensor '{name}' has shape {t.ShapeText}, expected [{columns}, {rows}]");
        }
        CheckComputable(t);
        return new MatrixView(File.GetDataPointer(t), t.Type, rows, columns, name);
    }

    /// <summary>
    /// Rows [<paramref name="first"/>, <paramref name="first"/> + <paramref name="rows"/>) of a matrix with
    /// <paramref name="totalRows"/> rows, as a view of their own (fused projections are split this way, no copy).
    /// </summary>
    public MatrixView MatrixRows(string name, int columns, int totalRows, int first, int rows)
    {
        var whole = Matrix(name, columns, totalRows);
        return new MatrixView(whole.Row(first), whole.Type, rows, columns, name);
    }

    /// <summary>
    /// A 3-D tensor of <paramref name="count"/> stacked matrices of <paramref name="rows"/> rows of
    /// <paramref name="columns"/> (ggml shape [columns, rows, count]: mixture-of-experts weights, per-head MLA
    /// projections), as one view per matrix into the mapped data.
    /// </summary>
    public MatrixView[] Stacked(string name, int columns, int rows, int count)
    {
        var t = Find(name);
        if (t.Rank != 3 || t.Shape[0] != columns || t.Shape[1] != rows || t.Shape[2] != count)
        {
            throw new ModelLoadException($"tensor '{name}' has shape {t.ShapeText}, expected [{columns}, {rows}, {count}]");
        }
        CheckComputable(t);
        var whole = new MatrixView(File.GetDataPointer(t), t.Type, rows, columns, name);
        var views = new MatrixView[count];
        for (int i = 0; i < count; i++) views[i] = new MatrixView(whole.Data + i * (long)rows * whole.RowBytes, t.Type, rows, columns, name);
        return views;
    }

    /// <summary>A required f32 vector of <paramref name="length"/> elements.</summary>
    public float* Vector(string name, int length) => VectorPointer(Find(name), length);

    /// <summary>An optional vector (null when absent).</summary>
    public float* OptionalVector(string name, int length) => File.FindTensor(name) is { } t ? VectorPointer(t, length) : null;

    /// <summary>A vector that must be present when <paramref name="required"/> and may be absent otherwise.</summary>
    public float* Vector(string name, int length, bool required) => required ? Vector(name, length) : OptionalVector(name, length);

    /// <summary>An optional vector copied into a managed array (null when absent).</summary>
    public float[]? OptionalArray(string name, int length) =>
        File.FindTensor(name) is { } t ? new ReadOnlySpan<float>(VectorPointer(t, length), length).ToArray() : null;

    private GgufTensorInfo Find(string name) => File.FindTensor(name) ?? throw new ModelLoadException($"tensor '{name}' is missing");

    private static void CheckComputable(GgufTensorInfo t)
    {
        if (!GgmlTypeInfo.CanDequantize(t.Type) || t.Type is GgmlType.Q8_1 or GgmlType.Q8_K)
        {
            throw new ModelLoadException($"tensor '{t.Name}' has type {t.Type}, which this engine cannot compute with");
        }
    }

    private float* VectorPointer(GgufTensorInfo t, int length)
    {
        if (t.ElementCount != length || t.Rank > 2 || t.Shape[0] != length)
        {
            throw new ModelLoadException($"tensor '{t.Name}' has shape {t.ShapeText}, expected [{length}]");
        }
        if (t.Type == GgmlType.F32) return (float*)File.GetDataPointer(t);
        if (!GgmlTypeInfo.CanDequantize(t.Type)) throw new ModelLoadException($"tensor '{t.Name}' has type {t.Type}, which this engine cannot read");
        var buffer = new NativeBuffer<float>(length);
        _owned.Add(buffer);
        Dequantize.Row(t.Type, File.GetDataPointer(t), buffer.Pointer, length);
        return buffer.Pointer;
    }

    /// <summary>Frees the widened copies (the mapped weights belong to the file).</summary>
    public void Dispose()
    {
        foreach (var b in _owned) b.Dispose();
        _owned.Clear();
    }
}
