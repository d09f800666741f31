using System.Diagnostics;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Xml.Linq;
using SharpInfer.Tests.Cli;

namespace SharpInfer.Tests.Packaging;

/// <summary>
/// <c>dotnet pack</c> of the library and the tool into a local folder, the tool installed from that folder alone (a
/// NuGet config with no other source, so nothing is fetched) into a temporary tool path, and the installed
/// <c>sharpinfer</c> run: <c>--version</c> and a short <c>run</c> that must print what the in-process command prints.
/// The projects are packed from the build this test run already made (<c>--no-build</c>).
/// </summary>
public sealed class PackageTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-pack-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Configuration => AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";

    /// <summary>The folder holding the dotnet host that runs this test (for the tool's launcher, through DOTNET_ROOT).</summary>
    private static string DotnetRoot => Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", ".."));

    private static (int Code, string Output) Exec(string file, IEnumerable<string> args, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory ?? SharedData.RepoRoot };
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_ROOT"] = DotnetRoot;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void PackagesInstallAsAToolThatRuns()
    {
        string feed = Path.Combine(_dir, "feed");
        foreach (string project in new[] { "src/SharpInfer/SharpInfer.csproj", "src/SharpInfer.Cli/SharpInfer.Cli.csproj" })
        {
            var pack = Exec("dotnet", ["pack", project, "-c", Configuration, "--no-build", "-o", feed]);
            Assert.True(pack.Code == 0, pack.Output);
        }
        string library = Directory.GetFiles(feed, "SharpInfer.*.nupkg").Single(p => !Path.GetFileName(p).StartsWith("SharpInfer.Cli", StringComparison.Ordinal));
        string version = Path.GetFileNameWithoutExtension(library)["SharpInfer.".Length..];
        Assert.True(File.Exists(Path.Combine(feed, $"SharpInfer.{version}.snupkg")), "the library's symbol package is missing");
        Assert.True(File.Exists(Path.Combine(feed, $"SharpInfer.Cli.{version}.nupkg")), "the tool package is missing");
        CheckLibraryPackage(library);

        string config = Path.Combine(_dir, "nuget.config");
        File.WriteAllText(config, $"""<?xml version="1.0" encoding="utf-8"?><configuration><packageSources><clear /><add key="local" value="{feed}" /></packageSources></configuration>""");
        string tools = Path.Combine(_dir, "tools");
        var install = Exec("dotnet", ["tool", "install", "SharpInfer.Cli", "--tool-path", tools, "--configfile", config, "--version", version], _dir);
        Assert.True(install.Code == 0, install.Output);

        string sharpinfer = Path.Combine(tools, OperatingSystem.IsWindows() ? "sharpinfer.exe" : "sharpinfer");
        var shown = Exec(sharpinfer, ["--version"]);
        Assert.True(shown.Code == 0, shown.Output);
        Assert.StartsWith(version + "+", shown.Output.Trim());

        string[] run = ["run", "-m", SharedData.Stories, "-p", "Once upon a time", "-n", "8", "-t", "1"];
        var installed = Exec(sharpinfer, run);
        Assert.True(installed.Code == 0, installed.Output);
        var inProcess = CliRunner.Run(run);
        Assert.StartsWith(inProcess.Out, installed.Output);
    }

    /// <summary>The library package: readme, licence, XML docs, the Microsoft.Extensions.AI dependency.</summary>
    private static void CheckLibraryPackage(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("README.md", names);
        Assert.Contains("LICENSE", names);
        Assert.Contains("lib/net10.0/SharpInfer.dll", names);
        Assert.Contains("lib/net10.0/SharpInfer.xml", names);
        using var nuspec = zip.GetEntry("SharpInfer.nuspec")!.Open();
        var xml = XDocument.Load(nuspec);
        XNamespace ns = xml.Root!.Name.Namespace;
        var metadata = xml.Root.Element(ns + "metadata")!;
        Assert.Equal("MIT", metadata.Element(ns + "license")!.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
        Assert.Contains(metadata.Descendants(ns + "dependency"), d => (string?)d.Attribute("id") == "Microsoft.Extensions.AI.Abstractions");
    }
}
