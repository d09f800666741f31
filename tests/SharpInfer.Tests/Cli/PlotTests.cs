using System.Globalization;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using SharpInfer.Cli;

namespace SharpInfer.Tests.Cli;

/// <summary><c>--plot FILE.svg</c> of kv-quality and bench: well-formed SVG whose bars carry exactly the values the JSON output reports.</summary>
public sealed class PlotTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-plot-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static List<(string Label, double Value)> Bars(string svg)
    {
        var doc = XDocument.Load(svg);
        Assert.Equal("svg", doc.Root!.Name.LocalName);
        return doc.Descendants().Where(e => e.Name.LocalName == "rect" && (string?)e.Attribute("class") == "bar")
            .Select(e => ((string)e.Attribute("data-label")!, double.Parse((string)e.Attribute("data-value")!, CultureInfo.InvariantCulture)))
            .ToList();
    }

    [Fact]
    public void KvQualityPlotsTheMeanKlOfEveryCacheType()
    {
        string svg = Path.Combine(_dir, "kv.svg");
        var r = CliRunner.Run("kv-quality", "-m", SharedData.Synth("F32"), "-p", "Once upon a time there was a little dog who liked to run.", "-t", "1", "--json", "--plot", svg);
        Assert.True(r.ExitCode == 0, r.Err);
        var rows = JsonNode.Parse(r.Out)!.AsArray();
        var bars = Bars(svg);
        Assert.Equal(rows.Select(x => x!["type"]!.GetValue<string>()), bars.Select(b => b.Label));
        Assert.Equal(rows.Select(x => x!["mean_kl"]!.GetValue<double>()), bars.Select(b => b.Value));
        Assert.StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- sharpinfer plot -->", File.ReadAllText(svg));

        // An earlier plot is replaced; anything else is not, and is refused before the model is even loaded.
        Assert.Equal(0, CliRunner.Run("kv-quality", "-m", SharedData.Synth("F32"), "-p", "Hello", "-t", "1", "--plot", svg).ExitCode);
        string mine = Path.Combine(_dir, "mine.svg");
        File.WriteAllText(mine, "<svg>my drawing</svg>");
        var refused = CliRunner.Run("kv-quality", "-m", SharedData.Synth("F32"), "-p", "Hello", "--plot", mine);
        Assert.Equal(CliApp.Failure, refused.ExitCode);
        Assert.Contains("is not a SharpInfer plot", refused.Err);
        Assert.Equal("<svg>my drawing</svg>", File.ReadAllText(mine));
    }

    [Fact]
    public void BenchPlotsTokensPerSecondPerTest()
    {
        string svg = Path.Combine(_dir, "bench.svg");
        var r = CliRunner.Run("bench", "-m", SharedData.Stories, "-p", "16", "-n", "4", "-r", "2", "-t", "1", "-o", "json", "--plot", svg);
        Assert.True(r.ExitCode == 0, r.Err);
        var rows = JsonNode.Parse(r.Out)!.AsArray();
        var bars = Bars(svg);
        Assert.Equal(["pp16", "tg4"], bars.Select(b => b.Label));
        for (int i = 0; i < rows.Count; i++) Assert.Equal(rows[i]!["avg_ts"]!.GetValue<double>(), bars[i].Value, 0.001);
    }
}
