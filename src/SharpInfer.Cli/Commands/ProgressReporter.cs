using System.Diagnostics;
using System.Globalization;

namespace SharpInfer.Cli.Commands;

/// <summary>
/// Progress of long work on stderr: nothing for the first two seconds (short runs stay quiet), then a line every five
/// seconds saying how far it got, so a long quantization or evaluation is never silent.
/// </summary>
internal sealed class ProgressReporter(TextWriter err, string what, string unit)
{
    private static readonly TimeSpan FirstAfter = TimeSpan.FromSeconds(2), Every = TimeSpan.FromSeconds(5);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _next = FirstAfter;

    /// <summary>Notes that <paramref name="done"/> of <paramref name="total"/> units are finished.</summary>
    public void Report(int done, int total)
    {
        var now = _clock.Elapsed;
        if (now < _next || done >= total || total <= 0) return;
        _next = now + Every;
        err.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what}: {done} of {total} {unit} ({100.0 * done / total:F0} %) after {now.TotalSeconds:F0} s (Ctrl+C cancels)"));
    }
}
