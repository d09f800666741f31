using SharpInfer.Tensors;

namespace SharpInfer.Bench;

/// <summary>Deterministic random inputs in native aligned memory, and the location of the shared test data.</summary>
internal static unsafe class BenchData
{
    /// <summary>A native buffer of uniform values in [−1, 1).</summary>
    public static NativeBuffer<float> Floats(long count, int seed)
    {
        var r = new Random(seed);
        var buffer = new NativeBuffer<float>(count);
        for (long i = 0; i < count; i++) buffer.Pointer[i] = (float)(r.NextDouble() * 2 - 1);
        return buffer;
    }

    /// <summary><paramref name="rows"/> random rows of <paramref name="columns"/> stored in <paramref name="type"/>.</summary>
    public static NativeBuffer<byte> Matrix(GgmlType type, int rows, int columns, int seed)
    {
        long rowBytes = GgmlTypeInfo.RowBytes(type, columns);
        var buffer = new NativeBuffer<byte>(rowBytes * rows);
        var r = new Random(seed);
        var values = new float[columns];
        for (int row = 0; row < rows; row++)
        {
            for (int c = 0; c < columns; c++) values[c] = (float)(r.NextDouble() * 2 - 1);
            Quantize.Row(type, values, buffer.Span.Slice((int)(row * rowBytes), (int)rowBytes));
        }
        return buffer;
    }

    /// <summary>
    /// The model a decode benchmark runs: <c>SHARPINFER_BENCH_MODEL</c> when set (for example a <c>synth</c> model),
    /// otherwise stories260K from the shared data folder found beside the repository (BenchmarkDotNet runs each
    /// benchmark from a generated folder, so the search walks up from the executable and the working directory).
    /// </summary>
    public static string DecodeModelPath()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("SHARPINFER_BENCH_MODEL");
        if (!string.IsNullOrEmpty(fromEnvironment)) return fromEnvironment;
        return SharedFile("models/stories260K.gguf") ?? throw new FileNotFoundException("no decode model: set SHARPINFER_BENCH_MODEL or put the shared data folder beside the repository");
    }

    /// <summary>A file of the shared data folder, found by walking up from the executable and the working directory; null if absent.</summary>
    public static string? SharedFile(string relative)
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", relative);
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }
}
