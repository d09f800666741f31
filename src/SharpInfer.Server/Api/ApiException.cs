using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace SharpInfer.Server.Api;

/// <summary>
/// A request the server refuses, answered with <see cref="Status"/> and OpenAI's error body
/// <c>{"error": {"message", "type", "param", "code"}}</c>.
/// </summary>
public sealed class ApiException(int status, string message, string? param = null, string? code = null, string? type = null) : Exception(message)
{
    /// <summary>HTTP status.</summary>
    public int Status { get; } = status;

    /// <summary>The request field at fault, or null.</summary>
    public string? Param { get; } = param;

    /// <summary>A machine-readable code, or null.</summary>
    public string? Code { get; } = code;

    /// <summary>OpenAI's error type.</summary>
    public string Type { get; } = type ?? TypeFor(status);

    /// <summary>A 400 naming the field.</summary>
    public static ApiException Invalid(string param, string message) => new(400, message, param, "invalid_value");

    private static string TypeFor(int status) => status switch
    {
        401 => "authentication_error",
        404 => "not_found_error",
        413 => "invalid_request_error",
        429 or 503 => "unavailable_error",
        501 => "not_supported_error",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    /// <summary>The error body.</summary>
    public JsonObject Body() => ErrorBody(Message, Type, Param, Code);

    /// <summary>An OpenAI-style error body.</summary>
    public static JsonObject ErrorBody(string message, string type, string? param, string? code) => new()
    {
        ["error"] = new JsonObject
        {
            ["message"] = message,
            ["type"] = type,
            ["param"] = param,
            ["code"] = code,
        },
    };

    /// <summary>
    /// Writes the error as the response; once a stream of server-sent events has started, as one last
    /// <c>data: {"error": …}</c> event instead (without <c>[DONE]</c>), so the client can tell a failure from a cut connection.
    /// </summary>
    public async Task WriteAsync(HttpContext http)
    {
        if (http.Response.HasStarted)
        {
            if (http.Response.ContentType?.StartsWith("text/event-stream", StringComparison.Ordinal) != true) return;
            byte[] evt = System.Text.Encoding.UTF8.GetBytes("data: " + Json.Serialize(Body()) + "\n\n");
            try
            {
                await http.Response.Body.WriteAsync(evt, http.RequestAborted).ConfigureAwait(false);
                await http.Response.Body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                // The client left while the error was being written: nobody is there to tell.
            }
            return;
        }
        http.Response.StatusCode = Status;
        if (Status == 503) http.Response.Headers.RetryAfter = "1";
        await Json.WriteAsync(http, Body(), Status).ConfigureAwait(false);
    }
}
