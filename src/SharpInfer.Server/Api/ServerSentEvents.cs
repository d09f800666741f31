using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace SharpInfer.Server.Api;

/// <summary>Writes a response as server-sent events: one <c>data: JSON</c> event per chunk, flushed at once, ending in <c>data: [DONE]</c>.</summary>
internal sealed class ServerSentEvents(HttpContext http)
{
    public async Task StartAsync()
    {
        var response = http.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.StartAsync(http.RequestAborted).ConfigureAwait(false);
    }

    public Task WriteAsync(JsonNode node) => WriteRawAsync(Json.Serialize(node));

    public Task DoneAsync() => WriteRawAsync("[DONE]");

    private async Task WriteRawAsync(string data)
    {
        await http.Response.Body.WriteAsync(Encoding.UTF8.GetBytes("data: " + data + "\n\n"), http.RequestAborted).ConfigureAwait(false);
        await http.Response.Body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }
}
