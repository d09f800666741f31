using System.Net.Http.Headers;
using System.Text.Json;
using SharpInfer.Files;

namespace SharpInfer.Hub;

/// <summary>
/// Where Hugging Face keeps a repository's files: <c>{endpoint}/OWNER/REPO/resolve/main/FILE</c>, with the endpoint
/// from <c>SHARPINFER_HF_ENDPOINT</c> or <c>HF_ENDPOINT</c> (as huggingface_hub reads it; default
/// https://huggingface.co) and a token from <c>HF_TOKEN</c> for gated repositories.
/// </summary>
public sealed class HuggingFaceHub(Uri endpoint, string? token = null)
{
    /// <summary>The default endpoint.</summary>
    public static readonly Uri DefaultEndpoint = new("https://huggingface.co/");

    /// <summary>The endpoint files and the API are read from.</summary>
    public Uri Endpoint { get; } = endpoint.AbsoluteUri.EndsWith('/') ? endpoint : new Uri(endpoint.AbsoluteUri + "/");

    /// <summary>The token sent to the endpoint (never to the hosts it redirects to), or null.</summary>
    public string? Token { get; } = token;

    /// <summary>The hub the environment names (see the class summary).</summary>
    public static HuggingFaceHub FromEnvironment()
    {
        string? configured = Environment.GetEnvironmentVariable("SHARPINFER_HF_ENDPOINT") is { Length: > 0 } e ? e : Environment.GetEnvironmentVariable("HF_ENDPOINT");
        var endpoint = DefaultEndpoint;
        if (configured is { Length: > 0 } && !Uri.TryCreate(configured, UriKind.Absolute, out endpoint))
        {
            throw new ArgumentException($"the Hugging Face endpoint '{Files.SafeText.Line(configured)}' is not an absolute URL");
        }
        return new HuggingFaceHub(endpoint!, Environment.GetEnvironmentVariable("HF_TOKEN") is { Length: > 0 } t ? t : null);
    }

    /// <summary>The download URL of a file of the repository's main branch.</summary>
    public Uri FileUrl(ModelReference reference)
    {
        if (reference.FileName is null) throw new ArgumentException($"{reference} names no file");
        string path = string.Join('/', reference.FileName.Split('/').Select(Uri.EscapeDataString));
        return new Uri(Endpoint, $"{Uri.EscapeDataString(reference.Owner)}/{Uri.EscapeDataString(reference.Repository)}/resolve/main/{path}");
    }

    /// <summary>
    /// The reference with its file named: as given, or the repository's one GGUF file (from the API's file list).
    /// Throws <see cref="ArgumentException"/> when the repository has none or several.
    /// </summary>
    public async Task<ModelReference> ResolveFileAsync(HttpClient http, ModelReference reference, CancellationToken cancellation)
    {
        if (reference.FileName is not null) return reference;
        var url = new Uri(Endpoint, $"api/models/{Uri.EscapeDataString(reference.Owner)}/{Uri.EscapeDataString(reference.Repository)}");
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (Token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellation).ConfigureAwait(false);
        }
        catch (TaskCanceledException e) when (!cancellation.IsCancellationRequested)
        {
            throw new HttpRequestException($"{url} did not answer in time", e);
        }
        using var _ = response;
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"cannot list the files of {reference.RepoId}: {url} answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
        var files = new List<string>();
        try
        {
            using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false), cancellationToken: cancellation).ConfigureAwait(false);
            if (json.RootElement.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array)
            {
                foreach (var s in siblings.EnumerateArray())
                {
                    if (s.TryGetProperty("rfilename", out var name) && name.GetString() is { } n && n.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
                    {
                        // The name becomes a path under the model folder: one that climbs out of it is not taken.
                        if (!ModelReference.IsRelativePath(n)) throw new HttpRequestException($"the file list of {reference.RepoId} names an unusable path {SafeText.Quote(n)}");
                        files.Add(n);
                    }
                }
            }
        }
        catch (JsonException e)
        {
            throw new HttpRequestException($"the file list of {reference.RepoId} is not valid JSON ({e.Message})");
        }
        files.Sort(StringComparer.Ordinal);
        return files.Count switch
        {
            1 => reference with { FileName = files[0] },
            0 => throw new ArgumentException($"{reference.RepoId} has no GGUF file"),
            _ => throw new ArgumentException($"{reference.RepoId} has {files.Count} GGUF files; name one as {reference.RepoId}:FILE ({string.Join(", ", files.Take(8))}{(files.Count > 8 ? ", …" : "")})"),
        };
    }
}
