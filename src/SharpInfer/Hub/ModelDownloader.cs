using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using SharpInfer.Files;
using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Hub;

/// <summary>What <see cref="ModelDownloader.DownloadAsync"/> did.</summary>
/// <param name="Path">The file.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Sha256">Its SHA-256 (lower-case hex).</param>
/// <param name="Verified">Where the checked checksum came from (<c>--sha256</c>, <c>X-Linked-Etag</c>, <c>ETag</c>), or null when none was stated.</param>
/// <param name="AlreadyPresent">The file was there with the stated size and checksum: nothing was downloaded.</param>
/// <param name="ResumedFrom">Bytes of an earlier, interrupted download that were kept (0: started from the beginning).</param>
public sealed record DownloadResult(string Path, long Bytes, string Sha256, string? Verified, bool AlreadyPresent, long ResumedFrom);

/// <summary>A download failed in a way that retrying the same command may fix (the connection); what arrived is kept.</summary>
public sealed class DownloadInterruptedException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>The downloaded bytes are not what the server (or the user) said they would be; nothing was kept.</summary>
public sealed class DownloadVerificationException(string message) : IOException(message);

/// <summary>
/// Downloads one file into place by the output-file rule: the bytes arrive in <c>TARGET.download</c> (described by
/// <c>TARGET.download.json</c>, so only our own partial files are ever resumed or removed), an interrupted transfer is
/// resumed with an HTTP range request (and <c>If-Range</c>, so a file that changed on the server starts over), the
/// size and the SHA-256 the server states (Hugging Face's <c>X-Linked-Etag</c>/<c>X-Linked-Size</c> on the redirect,
/// or a 64-hex <c>ETag</c>) or the caller gives are checked, and only then is the file fsynced, renamed over the
/// target (which may only be a GGUF file or nothing) and dropped from the page cache. Nothing half-written or wrong
/// ever carries the target's name.
/// </summary>
public sealed class ModelDownloader
{
    private const int MaxRedirects = 10;
    private readonly HttpClient _http;

    /// <summary>Uses <paramref name="http"/>, which must not follow redirects itself (the checksum headers are on the redirect).</summary>
    public ModelDownloader(HttpClient http) => _http = http;

    /// <summary>A client set up for downloads: no automatic redirects, no overall timeout (files are large), a connect timeout.</summary>
    public static HttpClient CreateHttpClient()
    {
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(30), AutomaticDecompression = DecompressionMethods.None };
        var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("sharpinfer", typeof(ModelDownloader).Assembly.GetName().Version?.ToString(3) ?? "0"));
        return http;
    }

    /// <summary>Hears (bytes present, total bytes when known) as data arrives.</summary>
    public Action<long, long?>? Progress { get; set; }

    /// <summary>Times a broken connection is resumed within one call before giving up (the partial file stays).</summary>
    public int Retries { get; set; } = 3;

    /// <summary>Pause before the first retry (doubling after each).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a connection may send nothing before it counts as broken (and is resumed).</summary>
    public TimeSpan ReadIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Downloads <paramref name="url"/> to <paramref name="target"/>. <paramref name="sha256"/> (hex) overrides the
    /// checksum the server states; <paramref name="bearerToken"/> is sent to the first host only (never across a
    /// redirect to another). Cancelling keeps what arrived, so the next call resumes.
    /// </summary>
    public async Task<DownloadResult> DownloadAsync(Uri url, string target, string? sha256 = null, string? bearerToken = null, CancellationToken cancellation = default)
    {
        if (url.Scheme is not ("http" or "https")) throw new ArgumentException($"only http and https URLs can be downloaded (got {SafeText.Quote(url.Scheme)})");
        string? expected = sha256 is null ? null : NormaliseSha(sha256) ?? throw new ArgumentException($"--sha256 must be 64 hex digits (got {SafeText.Quote(sha256)})");
        target = Path.GetFullPath(target);
        OutputFile.CheckTarget(target, GgufFile.Kind);
        var partial = new PartialDownload(target, url);
        using var exclusive = partial.Lock();
        partial.Prepare();

        if (File.Exists(target) && await AlreadyPresentAsync(url, target, expected, bearerToken, cancellation).ConfigureAwait(false) is { } present) return present;

        long resumedFrom = partial.Length;
        Remote remote = null!;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                remote = await FetchAsync(url, partial, bearerToken, cancellation).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (IsConnectionFailure(e, cancellation))
            {
                if (attempt >= Retries)
                {
                    throw new DownloadInterruptedException($"the download broke off after {partial.Length} bytes ({SafeText.Line(e.Message)}); run the same command again to resume", e);
                }
                await Task.Delay(RetryDelay * (1 << attempt), cancellation).ConfigureAwait(false);
            }
        }
        if (resumedFrom > 0 && remote.RestartedFromZero) resumedFrom = 0;

        long length = partial.Length;
        if (remote.Size is long size && length != size)
        {
            partial.Discard();
            throw new DownloadVerificationException($"the download is {length} bytes but the server stated {size}; it was removed");
        }
        if (!partial.StartsLikeGguf())
        {
            partial.Discard();
            throw new DownloadVerificationException("the download is not a GGUF file (it does not begin with the GGUF magic: an error page, or the wrong file?); it was removed");
        }
        string actual = await Sha256Async(partial.DataPath, cancellation).ConfigureAwait(false);
        var (wanted, source) = expected is not null ? (expected, "--sha256") : (remote.Sha256, remote.Sha256Source);
        if (wanted is not null && actual != wanted)
        {
            partial.Discard();
            throw new DownloadVerificationException($"checksum mismatch: {source} states sha256 {wanted} but the download has {actual}; it was removed");
        }
        partial.CommitTo(target);
        return new DownloadResult(target, length, actual, wanted is null ? null : source, false, resumedFrom);
    }

    /// <summary>The remote file's stated size and checksum, and whether the data restarted from byte 0.</summary>
    private sealed record Remote(long? Size, string? Sha256, string? Sha256Source, bool RestartedFromZero);

    /// <summary>What the response headers along the redirect chain say about the file.</summary>
    private sealed class Headers
    {
        public long? LinkedSize;
        public string? LinkedSha, Etag;
        public string? Validator;

        public void Read(HttpResponseMessage response)
        {
            if (LinkedSha is null && Header(response, "X-Linked-Etag") is { } linked) LinkedSha = NormaliseSha(linked.Trim('"'));
            if (LinkedSize is null && Header(response, "X-Linked-Size") is { } s && long.TryParse(s, out long size) && size >= 0) LinkedSize = size;
            if (response.Headers.ETag is { } etag)
            {
                Etag = etag.Tag.Trim('"');
                Validator = etag.IsWeak ? null : etag.Tag;
            }
        }

        public (string? Sha, string? Source) Sha256 => LinkedSha is not null ? (LinkedSha, "X-Linked-Etag") : NormaliseSha(Etag) is { } e ? (e, "ETag") : (null, null);

        private static string? Header(HttpResponseMessage response, string name) =>
            response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
    }

    /// <summary>Sends a request, following redirects by hand so the headers of every hop are seen.</summary>
    private async Task<(HttpResponseMessage Response, Headers Headers)> SendAsync(HttpMethod method, Uri url, string? bearerToken, Action<HttpRequestMessage>? configure, CancellationToken cancellation)
    {
        var headers = new Headers();
        // The token goes to the first origin only (scheme, host and port): never to a storage host it redirects to,
        // and a redirect from https down to plain http is refused outright.
        string firstOrigin = url.GetLeftPart(UriPartial.Authority);
        for (int hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(method, url);
            if (bearerToken is not null && url.GetLeftPart(UriPartial.Authority) == firstOrigin) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
            configure?.Invoke(request);
            var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation).ConfigureAwait(false);
            headers.Read(response);
            if ((int)response.StatusCode is < 300 or >= 400 || response.StatusCode == HttpStatusCode.NotModified) return (response, headers);
            var location = response.Headers.Location;
            response.Dispose();
            if (location is null) throw new HttpRequestException($"the server answered a redirect without a location ({url})");
            if (hop >= MaxRedirects) throw new HttpRequestException($"more than {MaxRedirects} redirects from {url}");
            var next = location.IsAbsoluteUri ? location : new Uri(url, location);
            if (next.Scheme is not ("http" or "https")) throw new HttpRequestException($"a redirect led to a {SafeText.Quote(next.Scheme)} URL");
            if (url.Scheme == "https" && next.Scheme == "http") throw new HttpRequestException($"a redirect led from https to plain http ({SafeText.Line(next.GetLeftPart(UriPartial.Authority))}); refused");
            url = next;
        }
    }

    private async Task<DownloadResult?> AlreadyPresentAsync(Uri url, string target, string? expected, string? bearerToken, CancellationToken cancellation)
    {
        long length = new FileInfo(target).Length;
        string? wanted = expected, source = "--sha256";
        long? size = null;
        if (wanted is null)
        {
            try
            {
                var (response, headers) = await SendAsync(HttpMethod.Head, url, bearerToken, null, cancellation).ConfigureAwait(false);
                using (response)
                {
                    // Hugging Face states the checksum on the redirect; what the file's host says about HEAD does not matter then.
                    if (!response.IsSuccessStatusCode && headers.LinkedSha is null) return null;
                    (wanted, source) = headers.Sha256;
                    size = headers.LinkedSize ?? (response.IsSuccessStatusCode ? response.Content.Headers.ContentLength : null);
                }
            }
            catch (Exception e) when (e is HttpRequestException || IsConnectionFailure(e, cancellation))
            {
                return null; // Not answered: download as usual, which reports the problem properly.
            }
        }
        if (wanted is null || (size is long s && s != length)) return null;
        string actual = await Sha256Async(target, cancellation).ConfigureAwait(false);
        return actual == wanted ? new DownloadResult(target, length, actual, source, true, 0) : null;
    }

    /// <summary>One request for what is missing from the partial file, appended as it arrives.</summary>
    private async Task<Remote> FetchAsync(Uri url, PartialDownload partial, string? bearerToken, CancellationToken cancellation)
    {
        long offset = partial.Length;
        var (response, headers) = await SendAsync(HttpMethod.Get, url, bearerToken, request =>
        {
            if (offset <= 0) return;
            request.Headers.Range = new RangeHeaderValue(offset, null);
            if (partial.Validator is { } v) request.Headers.IfRange = new RangeConditionHeaderValue(new EntityTagHeaderValue(v));
        }, cancellation).ConfigureAwait(false);
        using (response)
        {
            var (sha, shaSource) = headers.Sha256;
            long? size = headers.LinkedSize;
            bool restarted = false;
            switch (response.StatusCode)
            {
                case HttpStatusCode.PartialContent when response.Content.Headers.ContentRange is { From: long from } range && from == offset:
                    size ??= range.Length;
                    break;
                case HttpStatusCode.RequestedRangeNotSatisfiable when offset > 0 && (size ?? response.Content.Headers.ContentRange?.Length) == offset:
                    return new Remote(offset, sha, shaSource, false); // Everything had arrived already.
                case HttpStatusCode.OK:
                    size ??= response.Content.Headers.ContentLength;
                    restarted = offset > 0;
                    offset = 0;
                    break;
                default:
                    if (response.IsSuccessStatusCode || response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
                    {
                        partial.Discard();
                        throw new DownloadInterruptedException($"the server answered the resume request with {(int)response.StatusCode} and a range that does not fit; the partial file was removed, run the command again");
                    }
                    throw new HttpRequestException($"{url} answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
            }
            partial.Begin(offset, size, sha, headers.Validator);
            await using var body = await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false);
            await partial.AppendAsync(body, size, Progress, ReadIdleTimeout, cancellation).ConfigureAwait(false);
            return new Remote(size, sha, shaSource, restarted);
        }
    }

    private static bool IsConnectionFailure(Exception e, CancellationToken cancellation) =>
        !cancellation.IsCancellationRequested && (e is IOException and not DownloadInterruptedException and not DownloadVerificationException and not OutputPathException
            || e is HttpRequestException { StatusCode: null } || e is TaskCanceledException);

    private static async Task<string> Sha256Async(string path, CancellationToken cancellation)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan | FileOptions.Asynchronous);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellation).ConfigureAwait(false));
    }

    /// <summary>64 hex digits in lower case, or null when <paramref name="text"/> is not a SHA-256.</summary>
    internal static string? NormaliseSha(string? text)
    {
        if (text is null || text.Length != 64 || !text.All(char.IsAsciiHexDigit)) return null;
        return text.ToLowerInvariant();
    }

    /// <summary>
    /// <c>TARGET.download</c> and its description <c>TARGET.download.json</c> (the URL, the stated size and checksum and
    /// the validator the data came with): the description is what makes the partial file ours to resume or remove.
    /// </summary>
    private sealed class PartialDownload(string target, Uri url)
    {
        public string DataPath { get; } = target + ".download";
        private string DescriptionPath => DataPath + ".json";
        private Description? _description;

        public long Length => File.Exists(DataPath) ? new FileInfo(DataPath).Length : 0;
        public string? Validator => _description?.Validator;

        private sealed record Description(string Url, long? Size, string? Sha256, string? Validator);

        /// <summary>Refuses a partial file that is not ours; drops ours when it belongs to another URL.</summary>
        public void Prepare()
        {
            bool hasData = File.Exists(DataPath) || Directory.Exists(DataPath);
            if (File.Exists(DescriptionPath))
            {
                try
                {
                    _description = JsonSerializer.Deserialize<Description>(File.ReadAllText(DescriptionPath));
                }
                catch (JsonException)
                {
                    _description = null;
                }
                if (_description is null || _description.Url != url.AbsoluteUri) Discard();
                return;
            }
            if (hasData) throw new OutputPathException($"{DataPath} exists but is not a SharpInfer download (no {Path.GetFileName(DescriptionPath)} beside it); remove it or choose another path");
        }

        /// <summary>Records what the data is about to be and truncates to <paramref name="offset"/> (0 when the server sent it all again).</summary>
        public void Begin(long offset, long? size, string? sha, string? validator)
        {
            var described = new Description(url.AbsoluteUri, size, sha, validator);
            if (offset > 0 && _description is { } old && (old.Sha256 != sha || old.Size != size))
            {
                Discard();
                throw new DownloadInterruptedException("the file changed on the server since the download began; its partial file was removed, run the command again");
            }
            if (_description != described)
            {
                // Whole or not at all: a torn description would orphan the data beside it.
                string temporary = DescriptionPath + ".tmp";
                File.WriteAllText(temporary, JsonSerializer.Serialize(described));
                File.Move(temporary, DescriptionPath, overwrite: true);
                _description = described;
            }
            using var stream = new FileStream(DataPath, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
            stream.SetLength(offset);
        }

        public async Task AppendAsync(Stream body, long? size, Action<long, long?>? progress, TimeSpan idleTimeout, CancellationToken cancellation)
        {
            await using var file = new FileStream(DataPath, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 20, FileOptions.Asynchronous);
            var buffer = new byte[1 << 20];
            long done = file.Length;
            progress?.Invoke(done, size);
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            while (true)
            {
                int n;
                idle.CancelAfter(idleTimeout);
                try
                {
                    n = await body.ReadAsync(buffer, idle.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellation.IsCancellationRequested)
                {
                    // A connection that stays open but sends nothing is as broken as a closed one: resume it.
                    throw new IOException($"no data for {idleTimeout.TotalSeconds:0} s after {done} bytes");
                }
                if (n == 0) break;
                if (size is long s && done + n > s)
                {
                    await file.DisposeAsync().ConfigureAwait(false);
                    Discard();
                    throw new DownloadVerificationException($"the server sent more than the {s} bytes it stated; the download was removed");
                }
                await file.WriteAsync(buffer.AsMemory(0, n), cancellation).ConfigureAwait(false);
                done += n;
                progress?.Invoke(done, size);
            }
            if (size is long total && done < total) throw new IOException($"the connection closed after {done} of {total} bytes");
        }

        /// <summary>
        /// Holds <c>TARGET.download.lock</c> exclusively while this download runs, so two downloads of one file never
        /// append to the same partial data; a second one is refused at once.
        /// </summary>
        public IDisposable Lock()
        {
            try
            {
                return new FileStream(DataPath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException)
            {
                throw new OutputPathException($"another download of {Path.GetFileName(target)} is running (it holds {Path.GetFileName(DataPath)}.lock)");
            }
        }

        /// <summary>Whether the data begins with the GGUF magic (what every model file does).</summary>
        public bool StartsLikeGguf()
        {
            Span<byte> magic = stackalloc byte[4];
            using var file = new FileStream(DataPath, FileMode.Open, FileAccess.Read, FileShare.Read);
            return file.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("GGUF"u8);
        }

        public void Discard()
        {
            File.Delete(DataPath);
            File.Delete(DescriptionPath);
            _description = null;
        }

        public void CommitTo(string path)
        {
            OutputFile.Commit(DataPath, path, GgufFile.Kind, MemoryAdvice.Evict);
            File.Delete(DescriptionPath);
        }
    }
}
