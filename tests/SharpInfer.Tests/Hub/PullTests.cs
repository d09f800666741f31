using System.Security.Cryptography;
using SharpInfer.Cli;
using SharpInfer.Files;
using SharpInfer.Hub;
using SharpInfer.Tests.Cli;

namespace SharpInfer.Tests.Hub;

/// <summary>
/// <c>sharpinfer pull</c>, <c>list</c> and <c>run -m owner/repo</c> against <see cref="FakeHub"/>: the downloaded bytes
/// must be the shared model's, a cut connection must resume with a range request, and a wrong size or checksum must
/// leave nothing under the final name. The environment variables that point the CLI at the fake hub and a temporary
/// model folder are process-wide, so every test that sets them lives in this one class (xunit runs a class's tests
/// one at a time).
/// </summary>
public sealed class PullTests : IDisposable
{
    private readonly string _models = Directory.CreateTempSubdirectory("sharpinfer-models-").FullName;
    private readonly string? _oldModels = Environment.GetEnvironmentVariable(ModelStore.RootVariable);
    private readonly string? _oldEndpoint = Environment.GetEnvironmentVariable("SHARPINFER_HF_ENDPOINT");

    public PullTests() => Environment.SetEnvironmentVariable(ModelStore.RootVariable, _models);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(ModelStore.RootVariable, _oldModels);
        Environment.SetEnvironmentVariable("SHARPINFER_HF_ENDPOINT", _oldEndpoint);
        Directory.Delete(_models, recursive: true);
    }

    private static async Task<FakeHub> StartHubAsync()
    {
        var hub = await FakeHub.StartAsync();
        Environment.SetEnvironmentVariable("SHARPINFER_HF_ENDPOINT", hub.Address.AbsoluteUri);
        return hub;
    }

    private string Pulled => Path.Combine(_models, "owner", "tiny", "stories260K.gguf");

    private static string Sha(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public async Task PullsVerifiesListsAndRunsAHuggingFaceModel()
    {
        await using var hub = await StartHubAsync();
        var r = await Task.Run(() => CliRunner.Run("pull", "owner/tiny:stories260K.gguf"));
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains($"pulled owner/tiny:stories260K.gguf to {Pulled}", r.Out);
        Assert.Contains("verified against X-Linked-Etag", r.Out);
        Assert.Equal("", r.Err); // stderr is no terminal here: no progress line.
        Assert.Equal(hub.Sha256, Sha(Pulled));
        Assert.Empty(Directory.EnumerateFiles(Path.GetDirectoryName(Pulled)!, "*.download*"));

        var again = await Task.Run(() => CliRunner.Run("pull", "owner/tiny/stories260K.gguf"));
        Assert.Equal(0, again.ExitCode);
        Assert.StartsWith($"up to date: {Pulled}", again.Out);

        var list = CliRunner.Run("list");
        Assert.Equal(0, list.ExitCode);
        var line = list.Out.Split('\n').Single(l => l.StartsWith("owner/tiny/stories260K.gguf", StringComparison.Ordinal));
        Assert.Matches(@"^owner/tiny/stories260K\.gguf\s+llama\s+F32\s+1\.1 MiB\s+2048$", line.TrimEnd());
        var json = System.Text.Json.Nodes.JsonNode.Parse(CliRunner.Run("list", "--json").Out)!.AsArray();
        Assert.Equal(hub.Model.Length, json.Single()!["bytes"]!.GetValue<long>());

        var direct = CliRunner.Run("run", "-m", SharedData.Stories, "-p", "Once upon a time", "-n", "6", "-t", "1");
        var byName = CliRunner.Run("run", "-m", "owner/tiny", "-p", "Once upon a time", "-n", "6", "-t", "1");
        Assert.Equal(0, byName.ExitCode);
        Assert.Equal(direct.Out, byName.Out);
    }

    [Fact]
    public async Task ARepositoryWithOneGgufFileNeedsNoFileName()
    {
        await using var hub = await StartHubAsync();
        var r = await Task.Run(() => CliRunner.Run("pull", "owner/tiny"));
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal(hub.Sha256, Sha(Pulled));
        hub.Files = ["a.gguf", "b.gguf"];
        var ambiguous = await Task.Run(() => CliRunner.Run("pull", "owner/two"));
        Assert.Equal(CliApp.UsageError, ambiguous.ExitCode);
        Assert.Contains("owner/two has 2 GGUF files; name one as owner/two:FILE (a.gguf, b.gguf)", ambiguous.Err);
    }

    [Fact]
    public async Task ACutConnectionIsResumedWithARangeRequest()
    {
        await using var hub = await StartHubAsync();
        hub.CutNext(1);
        var r = await Task.Run(() => CliRunner.Run("pull", "owner/tiny:stories260K.gguf"));
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal(hub.Sha256, Sha(Pulled));
        Assert.Contains(hub.Ranges, r => r.StartsWith("bytes=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ADownloadInterruptedForGoodIsKeptAndResumedByTheNextCall()
    {
        await using var hub = await StartHubAsync();
        hub.CutNext(3);
        var downloader = new ModelDownloader(ModelDownloader.CreateHttpClient()) { Retries = 1, RetryDelay = TimeSpan.FromMilliseconds(10) };
        var url = new HuggingFaceHub(hub.Address).FileUrl(new ModelReference("owner", "tiny", "stories260K.gguf"));
        string target = Path.Combine(_models, "resumed.gguf");
        await Assert.ThrowsAsync<DownloadInterruptedException>(() => downloader.DownloadAsync(url, target));
        Assert.False(File.Exists(target));
        // What a cut connection delivered before its reset is up to the network; whatever arrived is kept.
        long kept = new FileInfo(target + ".download").Length;
        Assert.InRange(kept, 1, hub.Model.Length - 1);

        // The third cut comes on the next call's first request; it then resumes again and finishes.
        var result = await downloader.DownloadAsync(url, target);
        Assert.Equal(hub.Sha256, result.Sha256);
        Assert.Equal(hub.Sha256, Sha(target));
        Assert.Equal(kept, result.ResumedFrom);
        Assert.Equal("", hub.Ranges[0]);
        Assert.Equal($"bytes={kept}-", hub.Ranges[2]);
        Assert.All(hub.Ranges.Skip(1), r => Assert.StartsWith("bytes=", r));
        Assert.False(File.Exists(target + ".download"));
        Assert.False(File.Exists(target + ".download.json"));
    }

    [Fact]
    public async Task AWrongChecksumLeavesNothingBehind()
    {
        await using var hub = await StartHubAsync();
        hub.StatedSha256 = new string('0', 64);
        var r = await Task.Run(() => CliRunner.Run("pull", "owner/tiny:stories260K.gguf"));
        Assert.Equal(CliApp.Failure, r.ExitCode);
        Assert.Contains($"error: checksum mismatch: X-Linked-Etag states sha256 {hub.StatedSha256} but the download has {hub.Sha256}; it was removed", r.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(Pulled)!));

        hub.StatedSha256 = hub.Sha256;
        var given = await Task.Run(() => CliRunner.Run("pull", "--url", new Uri(hub.Address, "cdn/stories260K.gguf").AbsoluteUri, "--sha256", new string('a', 64)));
        Assert.Equal(CliApp.Failure, given.ExitCode);
        Assert.Contains("checksum mismatch: --sha256 states", given.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_models, "127.0.0.1")));
    }

    [Fact]
    public async Task UrlsFilesAndMistakes()
    {
        await using var hub = await StartHubAsync();
        string output = Path.Combine(_models, "any.gguf");
        var r = await Task.Run(() => CliRunner.Run("pull", "--url", new Uri(hub.Address, "cdn/stories260K.gguf").AbsoluteUri, "-o", output, "--sha256", hub.Sha256.ToUpperInvariant()));
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("verified against --sha256", r.Out);
        Assert.Equal(hub.Sha256, Sha(output));

        // A file that is not a model is never replaced, and nothing is downloaded for it.
        string notes = Path.Combine(_models, "notes.txt");
        File.WriteAllText(notes, "mine");
        int requests = hub.Ranges.Count;
        var refused = await Task.Run(() => CliRunner.Run("pull", "owner/tiny:stories260K.gguf", "-o", notes));
        Assert.Equal(CliApp.Failure, refused.ExitCode);
        Assert.Contains("exists and is not a GGUF file", refused.Err);
        Assert.Equal("mine", File.ReadAllText(notes));
        Assert.Equal(requests, hub.Ranges.Count);

        // A partial file that is not ours is not touched either.
        string stray = Path.Combine(_models, "stray.gguf");
        File.WriteAllText(stray + ".download", "someone else's");
        var strayRun = await Task.Run(() => CliRunner.Run("pull", "owner/tiny:stories260K.gguf", "-o", stray));
        Assert.Equal(CliApp.Failure, strayRun.ExitCode);
        Assert.Contains("is not a SharpInfer download", strayRun.Err);
        Assert.Equal("someone else's", File.ReadAllText(stray + ".download"));

        var missing = await Task.Run(() => CliRunner.Run("pull", "owner/tiny:nope.gguf"));
        Assert.Equal(CliApp.Failure, missing.ExitCode);
        Assert.Contains("answered 404", missing.Err);
        Assert.Equal(CliApp.UsageError, CliRunner.Run("pull").ExitCode);
        Assert.Equal(CliApp.UsageError, CliRunner.Run("pull", "owner/tiny", "--url", "http://x/y.gguf").ExitCode);
        Assert.Equal(CliApp.UsageError, CliRunner.Run("pull", "not-a-name").ExitCode);
        Assert.Equal(CliApp.UsageError, CliRunner.Run("pull", "--url", "ftp://host/file.gguf").ExitCode);
        Assert.Equal(CliApp.UsageError, CliRunner.Run("pull", "--url", "http://host/").ExitCode);
        Assert.Equal(CliApp.UsageError, CliRunner.Run("pull", "owner/tiny", "--sha256", "xyz").ExitCode);
    }

    [Fact]
    public async Task WhatIsNotAGgufFileOrNamesAPathOutsideTheFolderIsRefused()
    {
        await using var hub = await StartHubAsync();
        string output = Path.Combine(_models, "page.gguf");
        var page = await Task.Run(() => CliRunner.Run("pull", "--url", new Uri(hub.Address, "pages/model.gguf").AbsoluteUri, "-o", output));
        Assert.Equal(CliApp.Failure, page.ExitCode);
        Assert.Contains("error: the download is not a GGUF file", page.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_models));

        // A file list naming a path that climbs out of the model folder (a hostile or broken mirror).
        hub.Files = ["../../escaped.gguf"];
        var climb = await Task.Run(() => CliRunner.Run("pull", "owner/tiny"));
        Assert.Equal(CliApp.Failure, climb.ExitCode);
        Assert.Contains("unusable path", climb.Err);
        Assert.False(File.Exists(Path.Combine(_models, "..", "escaped.gguf")));
    }

    [Theory]
    [InlineData("owner/repo", "owner", "repo", null)]
    [InlineData("owner/repo:model-Q4_K_M.gguf", "owner", "repo", "model-Q4_K_M.gguf")]
    [InlineData("owner/repo/sub/model.gguf", "owner", "repo", "sub/model.gguf")]
    public void ModelNames(string text, string owner, string repo, string? file)
    {
        Assert.True(ModelReference.TryParse(text, out var r));
        Assert.Equal(new ModelReference(owner, repo, file), r);
    }

    [Theory]
    [InlineData("model.gguf")]
    [InlineData("/abs/path/model.gguf")]
    [InlineData("./owner/repo")]
    [InlineData("https://host/owner/repo")]
    [InlineData("owner/../x")]
    [InlineData("owner/repo:../../etc/passwd")]
    [InlineData("owner/repo:")]
    public void NotModelNames(string text) => Assert.False(ModelReference.TryParse(text, out _));
}
