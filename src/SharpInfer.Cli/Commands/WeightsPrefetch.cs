using SharpInfer.Models;

namespace SharpInfer.Cli.Commands;

/// <summary>
/// Model load progress: mapping a model is instant, and its weights are read from disk on first use, so without this
/// the first prompt stalls silently for as long as the disk needs. When a progress line is shown (stderr is a terminal,
/// no <c>--quiet</c>) and the weights are large, they are read in here, one touch per page in file order, with the
/// bytes read and the time left on the line; what is already in memory goes by at memory speed.
/// </summary>
internal static unsafe class WeightsPrefetch
{
    private const long MinimumBytes = 64L << 20, Page = 4096, ReportEvery = 16L << 20;

    public static void Run(Model model, CliIO io)
    {
        var file = model.File;
        long total = file.TensorBytes;
        using var progress = new ProgressReporter(io, "loading weights");
        if (!progress.Enabled || total < MinimumBytes || file.Tensors.Count == 0) return;
        long done = 0, next = 0;
        int sink = 0;
        foreach (var tensor in file.Tensors)
        {
            io.Cancellation.ThrowIfCancellationRequested();
            byte* data = file.GetDataPointer(tensor);
            for (long offset = 0; offset < tensor.ByteSize; offset += Page)
            {
                sink += data[offset];
                if (done + offset < next) continue;
                next += ReportEvery;
                progress.Report((double)(done + offset) / total, $"{ProgressReporter.Bytes(done + offset)} of {ProgressReporter.Bytes(total)}");
            }
            done += tensor.ByteSize;
        }
        GC.KeepAlive(sink);
        progress.Clear();
    }
}
