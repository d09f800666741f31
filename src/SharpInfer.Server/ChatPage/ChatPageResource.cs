using Microsoft.AspNetCore.Http;

namespace SharpInfer.Server.ChatPage;

/// <summary>The chat page: one static HTML file with its script, embedded in this assembly (no build step, no CDN).</summary>
internal static class ChatPageResource
{
    private static readonly Lazy<byte[]> Page = new(() =>
    {
        using var stream = typeof(ChatPageResource).Assembly.GetManifestResourceStream("SharpInfer.Server.ChatPage.index.html")
            ?? throw new InvalidOperationException("the chat page resource is missing from the assembly");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    });

    public static async Task WriteAsync(HttpContext http)
    {
        http.Response.ContentType = "text/html; charset=utf-8";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.ContentSecurityPolicy = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:";
        await http.Response.Body.WriteAsync(Page.Value, http.RequestAborted).ConfigureAwait(false);
    }
}
