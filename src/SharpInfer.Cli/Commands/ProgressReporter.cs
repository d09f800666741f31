using System.Diagnostics;
using System.Globalization;

namespace SharpInfer.Cli.Commands;

/// <summary>
/// A progress line on stderr, redrawn in place (<c>\r</c>) at most ten times a second: what is being done, a bar, the
/// share done, what the caller counts (bytes, tensors, tokens) and the time left. Shown only when stderr is a
/// terminal and <c>--quiet</c> was not given; otherwise every call does nothing, so logs and pipes stay clean.
/// </summary>
internal sealed class ProgressReporter : IDisposable
{
    private const int BarWidth = 24;
    private static readonly TimeSpan RedrawEvery = TimeSpan.FromMilliseconds(100);
    private readonly TextWriter _err;
    private readonly string _what;
    private readonly string _unit;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastDraw = TimeSpan.FromDays(-1);
    private bool _drawn;

    /// <summary>A reporter for <paramref name="what"/> counting <paramref name="unit"/> (e.g. "tensors").</summary>
    public ProgressReporter(CliIO io, string what, string unit = "")
    {
        _err = io.Err;
        _what = what;
        _unit = unit;
        Enabled = io.ErrIsTerminal && !io.Quiet;
    }

    /// <summary>Whether anything is drawn.</summary>
    public bool Enabled { get; }

    /// <summary>Notes <paramref name="done"/> of <paramref name="total"/> units.</summary>
    public void Report(int done, int total) => Report((long)done, total);

    /// <summary>Notes <paramref name="done"/> of <paramref name="total"/> units.</summary>
    public void Report(long done, long total)
    {
        if (!Enabled || total <= 0) return;
        Report((double)done / total, string.Create(CultureInfo.InvariantCulture, $"{done} of {total}{(_unit.Length > 0 ? " " + _unit : "")}"), done >= total);
    }

    /// <summary>Notes how far a model file's write got: tensors and bytes.</summary>
    public void Report(Gguf.GgufWriteProgress p)
    {
        if (!Enabled || p.Bytes <= 0) return;
        Report((double)p.BytesDone / p.Bytes, $"{p.TensorsDone} of {p.Tensors} tensors, {Bytes(p.BytesDone)} of {Bytes(p.Bytes)}", p.TensorsDone == p.Tensors);
    }

    /// <summary>Notes a fraction done with a caller-made detail text; <paramref name="force"/> draws even within the redraw interval.</summary>
    public void Report(double fraction, string detail, bool force = false)
    {
        if (!Enabled) return;
        var now = _clock.Elapsed;
        if (!force && now - _lastDraw < RedrawEvery) return;
        _lastDraw = now;
        fraction = Math.Clamp(double.IsFinite(fraction) ? fraction : 0, 0, 1);
        int filled = (int)Math.Round(fraction * BarWidth);
        string eta = fraction > 0.01 && fraction < 1 && now.TotalSeconds >= 1 ? " ETA " + Duration(now * ((1 - fraction) / fraction)) : "";
        lock (_err)
        {
            _err.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r\x1b[K{_what}: [{new string('#', filled)}{new string('.', BarWidth - filled)}] {fraction * 100,3:F0} % {detail}{eta}"));
            _drawn = true;
        }
    }

    /// <summary>Notes progress of unknown extent (the total is not known): the count and the rate.</summary>
    public void ReportUnbounded(string detail)
    {
        if (!Enabled) return;
        var now = _clock.Elapsed;
        if (now - _lastDraw < RedrawEvery) return;
        _lastDraw = now;
        lock (_err)
        {
            _err.Write($"\r\x1b[K{_what}: {detail}");
            _drawn = true;
        }
    }

    /// <summary>Time since the reporter was made.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Erases the line, so what is printed next starts clean.</summary>
    public void Clear()
    {
        if (!_drawn) return;
        lock (_err) _err.Write("\r\x1b[K");
        _drawn = false;
    }

    /// <summary>Erases the line (also when the work failed, so the error starts a clean line).</summary>
    public void Dispose() => Clear();

    /// <summary>m:ss, or h:mm:ss beyond an hour.</summary>
    public static string Duration(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:D2}:{t.Seconds:D2}")
        : string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes}:{t.Seconds:D2}");

    /// <summary>Bytes in the unit that reads best (B, KiB, MiB, GiB).</summary>
    public static string Bytes(double bytes) => bytes switch
    {
        >= 1 << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1 << 30):F2} GiB"),
        >= 1 << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1 << 20):F1} MiB"),
        >= 1 << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1 << 10):F1} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes:F0} B"),
    };
}
