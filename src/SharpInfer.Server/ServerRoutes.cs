using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SharpInfer.Inference;
using SharpInfer.Server.Api;
using SharpInfer.Server.ChatPage;

namespace SharpInfer.Server;

/// <summary>The endpoints, the API key check, and the error handling every endpoint shares.</summary>
internal static class ServerRoutes
{
    public static void Map(WebApplication app, ServerEngine engine, ServerOptions options, TextWriter log)
    {
        Task Guard(HttpContext http, Func<Task> endpoint) => GuardAsync(http, endpoint, log);
        RequestDelegate WithModel(Func<HttpContext, LoadedModel, Task> handler) => http => Guard(http, () => handler(http, Loaded(engine)));
        if (options.ApiKey is { } key) app.Use(RequireKey(key));
        app.MapGet("/", ChatPageResource.WriteAsync);
        app.MapGet("/health", http => HealthAsync(http, engine));
        app.MapGet("/metrics", http => Guard(http, () => Utilities.MetricsAsync(http, engine.Loaded)));
        foreach (string prefix in new[] { "/v1", "" })
        {
            app.MapGet(prefix + "/models", WithModel(Utilities.ModelsAsync));
            app.MapPost(prefix + "/chat/completions", WithModel(ChatCompletions.HandleAsync));
            app.MapPost(prefix + "/completions", WithModel(Completions.HandleAsync));
            app.MapPost(prefix + "/embeddings", WithModel(Embeddings.HandleAsync));
        }
        app.MapPost("/tokenize", WithModel(Utilities.TokenizeAsync));
        app.MapPost("/detokenize", WithModel(Utilities.DetokenizeAsync));
        app.MapPost("/apply-template", WithModel(Utilities.ApplyTemplateAsync));
        app.MapPost("/slots/{id}", (HttpContext http, string id) => Guard(http, () => Slots.HandleAsync(http, Loaded(engine), options.SlotSavePath, id)));
        app.MapFallback(http => Guard(http, () => throw new ApiException(404, $"no such endpoint: {http.Request.Method} {Clip(http.Request.Path.Value)}", code: "not_found")));
    }

    private static LoadedModel Loaded(ServerEngine engine) => engine.Loaded ?? throw (engine.Failure is { } failure
        ? new ApiException(500, $"the model failed to load: {failure}", code: "model_load_failed")
        : new ApiException(503, "the model is loading", code: "loading"));

    /// <summary>Runs an endpoint: its refusals become OpenAI-style errors, a vanished client ends quietly, anything else is a 500 with one log line.</summary>
    private static async Task GuardAsync(HttpContext http, Func<Task> endpoint, TextWriter log)
    {
        try
        {
            await endpoint().ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            await e.WriteAsync(http).ConfigureAwait(false);
        }
        catch (Exception) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; its request was cancelled with the connection.
        }
        catch (SchedulerUnavailableException e)
        {
            // The engine stopped under a running request (shutdown): a 503 as at submission, not a 500.
            await new ApiException(503, e.ShuttingDown ? "the server is shutting down; the request was cancelled" : e.Message, code: e.ShuttingDown ? "shutting_down" : "unavailable").WriteAsync(http).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            lock (log) log.WriteLine(SharpInfer.Files.SafeText.Line($"error: {http.Request.Method} {Clip(http.Request.Path.Value)} failed: {e.Message}"));
            await new ApiException(500, $"internal error: {e.Message.ReplaceLineEndings(" ")}").WriteAsync(http).ConfigureAwait(false);
        }
    }

    private static async Task HealthAsync(HttpContext http, ServerEngine engine)
    {
        if (engine.Loaded is not null)
        {
            await Json.WriteAsync(http, new JsonObject { ["status"] = "ok" }).ConfigureAwait(false);
            return;
        }
        var error = engine.Failure is { } failure
            ? new ApiException(500, $"the model failed to load: {failure}", code: "model_load_failed")
            : new ApiException(503, "the model is loading", code: "loading");
        var body = error.Body();
        body["status"] = engine.Failure is null ? "loading model" : "error";
        http.Response.Headers.RetryAfter = "1";
        await Json.WriteAsync(http, body, error.Status).ConfigureAwait(false);
    }

    /// <summary>
    /// Every path but the chat page and /health needs "Authorization: Bearer KEY". The keys are compared as SHA-256
    /// digests with a fixed-time comparison, so neither the key's content nor its length leaks through timing.
    /// </summary>
    private static Func<HttpContext, RequestDelegate, Task> RequireKey(string key)
    {
        byte[] expected = SHA256.HashData(Encoding.UTF8.GetBytes(key));
        return async (http, next) =>
        {
            string path = http.Request.Path.Value ?? "/";
            if (path is "/" or "/health")
            {
                await next(http).ConfigureAwait(false);
                return;
            }
            string header = http.Request.Headers.Authorization.ToString();
            string given = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..] : "";
            if (CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), expected))
            {
                await next(http).ConfigureAwait(false);
                return;
            }
            http.Response.Headers.WWWAuthenticate = "Bearer";
            await new ApiException(401, "invalid or missing API key; send it as 'Authorization: Bearer KEY'", code: "invalid_api_key", type: "invalid_request_error").WriteAsync(http).ConfigureAwait(false);
        };
    }

    private static string Clip(string? s) => SharpInfer.Files.SafeText.Escape(s, 100);
}
