using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SharpInfer.Tests.Hub;

/// <summary>
/// A local Kestrel server that serves the shared stories260K model the way Hugging Face does: the resolve URL answers
/// with a redirect carrying <c>X-Linked-Etag</c> (the SHA-256) and <c>X-Linked-Size</c>, the redirect target serves the
/// bytes with range requests, and <c>/api/models/OWNER/REPO</c> lists the files. Faults on demand: connections cut
/// after some bytes, a wrong stated checksum.
/// </summary>
public sealed class FakeHub : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _cutsLeft;

    public byte[] Model { get; } = File.ReadAllBytes(SharedData.Stories);
    public string Sha256 { get; }
    public List<string> Ranges { get; } = new();
    public string[] Files { get; set; } = ["stories260K.gguf", "README.md"];

    /// <summary>Bytes sent before a cut connection is aborted.</summary>
    public int CutAfter { get; set; } = 100_000;

    /// <summary>The checksum the resolve URL states (the real one unless a test lies).</summary>
    public string StatedSha256 { get; set; }

    public Uri Address { get; private set; } = null!;

    private FakeHub()
    {
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(Model));
        StatedSha256 = Sha256;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapMethods("/{owner}/{repo}/resolve/main/{**file}", ["GET", "HEAD"], (HttpContext http, string file) =>
        {
            if (!Files.Contains(file)) return Results.NotFound();
            http.Response.Headers["X-Linked-Etag"] = $"\"{StatedSha256}\"";
            http.Response.Headers["X-Linked-Size"] = Model.Length.ToString();
            http.Response.Headers["X-Repo-Commit"] = "0123456789abcdef0123456789abcdef01234567";
            return Results.Redirect("/cdn/" + file);
        });
        _app.MapMethods("/cdn/{**file}", ["GET", "HEAD"], ServeAsync);
        _app.MapGet("/api/models/{owner}/{repo}", () => Results.Json(new { siblings = Files.Select(f => new { rfilename = f }) }));
        // What a captive portal or a wrong link gives: a page, with status 200.
        _app.MapGet("/pages/{**file}", () => Results.Content("<html><body>Please sign in</body></html>", "text/html"));
    }

    public static async Task<FakeHub> StartAsync()
    {
        var hub = new FakeHub();
        await hub._app.StartAsync();
        hub.Address = new Uri(hub._app.Urls.First() + "/");
        return hub;
    }

    /// <summary>The next <paramref name="count"/> downloads break off after <see cref="CutAfter"/> bytes.</summary>
    public void CutNext(int count) => Interlocked.Exchange(ref _cutsLeft, count);

    private async Task ServeAsync(HttpContext http)
    {
        http.Response.Headers.ETag = "\"cdn-etag\"";
        http.Response.Headers.AcceptRanges = "bytes";
        long from = 0;
        string? range = http.Request.Headers.Range;
        if (!HttpMethods.IsHead(http.Request.Method)) lock (Ranges) Ranges.Add(range ?? "");
        if (range is { Length: > 0 } && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = long.Parse(range[6..^1]);
            if (from >= Model.Length)
            {
                http.Response.StatusCode = 416;
                http.Response.Headers.ContentRange = $"bytes */{Model.Length}";
                return;
            }
            http.Response.StatusCode = 206;
            http.Response.Headers.ContentRange = $"bytes {from}-{Model.Length - 1}/{Model.Length}";
        }
        http.Response.ContentLength = Model.Length - from;
        if (HttpMethods.IsHead(http.Request.Method)) return;
        bool cut = Interlocked.Decrement(ref _cutsLeft) >= 0;
        int length = cut ? (int)Math.Min(CutAfter, Model.Length - from) : (int)(Model.Length - from);
        await http.Response.Body.WriteAsync(Model.AsMemory((int)from, length));
        if (cut)
        {
            await http.Response.Body.FlushAsync();
            http.Abort();
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
