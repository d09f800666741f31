using System.ClientModel;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI;
using SharpInfer.Server;
using SharpInfer.Tests;

namespace SharpInfer.Server.Tests;

/// <summary>A server on stories260K on a free loopback port, with an HTTP client and the OpenAI SDK pointed at it.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly InferenceServer _server;
    private readonly StringWriter _log;

    private TestServer(InferenceServer server, StringWriter log, LoadedModel loaded)
    {
        _server = server;
        _log = log;
        Loaded = loaded;
        Http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(120) };
    }

    /// <summary>Defaults: 4 sequences, 2048 f32 cells, one thread.</summary>
    public static ServerOptions DefaultOptions => new()
    {
        ModelPath = SharedData.Stories,
        Port = 0,
        Parallel = 4,
        ContextSize = 2048,
        Threads = 1,
        CacheTypeK = SharpInfer.Tensors.GgmlType.F32,
        CacheTypeV = SharpInfer.Tensors.GgmlType.F32,
    };

    public static async Task<TestServer> StartAsync(Func<ServerOptions, ServerOptions>? configure = null)
    {
        var options = configure is null ? DefaultOptions : configure(DefaultOptions);
        var log = new StringWriter();
        var server = InferenceServer.Create(options, TextWriter.Synchronized(log));
        await server.StartAsync();
        var loaded = await server.ModelReady.WaitAsync(TimeSpan.FromSeconds(60));
        return new TestServer(server, log, loaded);
    }

    public HttpClient Http { get; }
    public LoadedModel Loaded { get; }
    public Uri Address => _server.Address;
    public string Log => _log.ToString();

    public OpenAIClient OpenAI(string key = "no-key") => new(new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(Address, "v1/") });

    public Task<HttpResponseMessage> PostAsync(string path, string body, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return Http.SendAsync(request);
    }

    public async Task<(int Status, JsonNode? Body)> PostJsonAsync(string path, JsonNode body, string? key = null)
    {
        using var response = await PostAsync(path, body.ToJsonString(), key);
        string text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length > 0 ? JsonNode.Parse(text) : null);
    }

    /// <summary>The /metrics samples by name.</summary>
    public async Task<Dictionary<string, double>> MetricsAsync()
    {
        string text = await Http.GetStringAsync("/metrics");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(l => !l.StartsWith('#'))
            .Select(l => l.Split(' '))
            .ToDictionary(p => p[0], p => double.Parse(p[1], CultureInfo.InvariantCulture));
    }

    /// <summary>Waits until no request runs or waits (a disconnect is noticed asynchronously).</summary>
    public async Task<Dictionary<string, double>> IdleMetricsAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var m = await MetricsAsync();
            if (m["sharpinfer_requests_running"] == 0 && m["sharpinfer_requests_queued"] == 0) return m;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the server is still busy: {m["sharpinfer_requests_running"]} running, {m["sharpinfer_requests_queued"]} queued");
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _server.DisposeAsync();
    }
}
