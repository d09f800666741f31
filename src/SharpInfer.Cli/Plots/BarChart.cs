using System.Globalization;
using System.Security;
using System.Text;
using SharpInfer.Files;

namespace SharpInfer.Cli.Plots;

/// <summary>One bar: its label, value and an optional ± error (drawn as a whisker).</summary>
internal sealed record Bar(string Label, double Value, double Error = 0);

/// <summary>
/// A bar chart as a standalone SVG file, drawn by this small class (no dependency): a title, a y axis with round
/// ticks (linear, or powers of ten for values spanning orders of magnitude), one bar per value with its value above
/// it and its label below. Each bar carries its value in a <c>data-value</c> attribute, so the file can be checked.
/// Files start with a fixed marker, so <see cref="OutputFile"/> replaces only plots this class wrote.
/// </summary>
internal sealed class BarChart
{
    private const double Width = 760, Height = 440, Left = 84, Right = 24, Top = 52, Bottom = 84;

    /// <summary>What every plot file starts with; the output-file rule recognises plots by it.</summary>
    public static readonly FileKind Kind = new("SharpInfer plot (SVG)", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- sharpinfer plot -->"u8);

    public required string Title { get; init; }
    public required string YLabel { get; init; }
    public required IReadOnlyList<Bar> Bars { get; init; }

    /// <summary>A log10 y axis (values ≤ 0 are drawn at the axis floor and labelled with their value).</summary>
    public bool LogScale { get; init; }

    /// <summary>Writes the chart to <paramref name="path"/> by the output-file rule.</summary>
    public void Save(string path, CancellationToken cancellation, params IEnumerable<string?> inputs)
    {
        byte[] svg = Encoding.UTF8.GetBytes(Render());
        OutputFile.Write(path, Kind, s => s.Write(svg), cancellation, inputs);
    }

    /// <summary>The SVG text.</summary>
    public string Render()
    {
        var (low, high, ticks) = LogScale ? LogAxis() : LinearAxis();
        double plotWidth = Width - Left - Right, plotHeight = Height - Top - Bottom;
        double Y(double v) => Top + plotHeight * (1 - (Scale(v, low) - Scale(low, low)) / (Scale(high, low) - Scale(low, low)));
        var svg = new StringBuilder();
        svg.Append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- sharpinfer plot -->\n");
        svg.Append(F($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">\n"));
        svg.Append(F($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>\n"));
        svg.Append(F($"<text class=\"title\" x=\"{Width / 2}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">{Escape(Title)}</text>\n"));
        svg.Append(F($"<text x=\"18\" y=\"{Top + plotHeight / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {Top + plotHeight / 2})\">{Escape(YLabel)}</text>\n"));
        foreach (double t in ticks)
        {
            double y = Y(t);
            svg.Append(F($"<line x1=\"{Left}\" y1=\"{y:F1}\" x2=\"{Width - Right}\" y2=\"{y:F1}\" stroke=\"#ddd\"/>\n"));
            svg.Append(F($"<text x=\"{Left - 6}\" y=\"{y + 4:F1}\" text-anchor=\"end\">{Escape(Number(t))}</text>\n"));
        }
        svg.Append(F($"<line x1=\"{Left}\" y1=\"{Top}\" x2=\"{Left}\" y2=\"{Top + plotHeight}\" stroke=\"black\"/>\n"));
        svg.Append(F($"<line x1=\"{Left}\" y1=\"{Top + plotHeight}\" x2=\"{Width - Right}\" y2=\"{Top + plotHeight}\" stroke=\"black\"/>\n"));
        double slot = plotWidth / Math.Max(1, Bars.Count);
        for (int i = 0; i < Bars.Count; i++)
        {
            var bar = Bars[i];
            double x = Left + slot * i + slot * 0.15, w = slot * 0.7;
            double top = Y(Math.Clamp(bar.Value, low, high)), bottom = Top + plotHeight;
            svg.Append(F($"<rect class=\"bar\" data-label=\"{Escape(bar.Label)}\" data-value=\"{bar.Value:R}\" x=\"{x:F1}\" y=\"{top:F1}\" width=\"{w:F1}\" height=\"{Math.Max(0, bottom - top):F1}\" fill=\"#4e79a7\"/>\n"));
            if (bar.Error > 0)
            {
                double e1 = Y(Math.Clamp(bar.Value + bar.Error, low, high)), e0 = Y(Math.Clamp(bar.Value - bar.Error, low, high)), cx = x + w / 2;
                svg.Append(F($"<path d=\"M{cx:F1} {e0:F1}V{e1:F1}M{cx - 5:F1} {e0:F1}H{cx + 5:F1}M{cx - 5:F1} {e1:F1}H{cx + 5:F1}\" stroke=\"black\"/>\n"));
            }
            double labelY = bar.Error > 0 ? Y(Math.Clamp(bar.Value + bar.Error, low, high)) : top;
            svg.Append(F($"<text x=\"{x + w / 2:F1}\" y=\"{labelY - 6:F1}\" text-anchor=\"middle\" font-size=\"11\">{Escape(Number(bar.Value))}</text>\n"));
            svg.Append(F($"<text x=\"{x + w / 2:F1}\" y=\"{bottom + 18:F1}\" text-anchor=\"middle\">{Escape(bar.Label)}</text>\n"));
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    private double Scale(double v, double low) => LogScale ? Math.Log10(Math.Max(v, low)) : v;

    /// <summary>0 up to a round number above the largest bar (with its error), with 5 or so round ticks.</summary>
    private (double Low, double High, List<double> Ticks) LinearAxis()
    {
        double max = Bars.Count == 0 ? 1 : Bars.Max(b => b.Value + b.Error);
        if (!(max > 0) || !double.IsFinite(max)) max = 1;
        double step = NiceStep(max / 5);
        double high = Math.Ceiling(max / step) * step;
        var ticks = new List<double>();
        for (double t = 0; t <= high + step / 2; t += step) ticks.Add(t);
        return (0, high, ticks);
    }

    /// <summary>Powers of ten from below the smallest positive value to above the largest.</summary>
    private (double Low, double High, List<double> Ticks) LogAxis()
    {
        var positive = Bars.Select(b => b.Value).Where(v => v > 0 && double.IsFinite(v)).ToList();
        double min = positive.Count > 0 ? positive.Min() : 1e-3, max = positive.Count > 0 ? positive.Max() : 1;
        int lo = (int)Math.Floor(Math.Log10(min)) - (positive.Count < Bars.Count ? 1 : 0), hi = (int)Math.Ceiling(Math.Log10(max));
        if (hi <= lo) hi = lo + 1;
        var ticks = Enumerable.Range(lo, hi - lo + 1).Select(e => Math.Pow(10, e)).ToList();
        return (ticks[0], ticks[^1], ticks);
    }

    private static double NiceStep(double rough)
    {
        double power = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        double f = rough / power;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power;
    }

    private static string Number(double v) => v == 0 ? "0"
        : Math.Abs(v) >= 1e5 || Math.Abs(v) < 1e-2 ? v.ToString("0.##e+0", CultureInfo.InvariantCulture)
        : v.ToString(Math.Abs(v) >= 100 ? "0" : "0.###", CultureInfo.InvariantCulture);

    private static string Escape(string text) => SecurityElement.Escape(SafeText.Line(text));

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
