using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SharpInfer.Server;

/// <summary>
/// The OpenAI-compatible HTTP server (ASP.NET Core minimal APIs on Kestrel). It starts listening at once and loads the
/// model in the background (<c>/health</c> answers 503 until it is ready). On shutdown it stops accepting requests,
/// refuses queued ones, gives running ones <see cref="ServerOptions.ShutdownGrace"/> to finish and cancels the rest.
/// </summary>
public sealed class InferenceServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ServerEngine _engine;
    private readonly ServerOptions _options;
    private readonly TextWriter _log;
    private bool _started, _disposed;

    private InferenceServer(WebApplication app, ServerEngine engine, ServerOptions options, TextWriter log)
    {
        _app = app;
        _engine = engine;
        _options = options;
        _log = log;
    }

    /// <summary>Builds the server (nothing listens yet). Throws <see cref="ArgumentException"/> for unusable options.</summary>
    public static InferenceServer Create(ServerOptions options, TextWriter log) => Create(options, log, loadGate: null);

    /// <summary>As <see cref="Create(ServerOptions, TextWriter)"/>; the model starts loading only once <paramref name="loadGate"/> completes.</summary>
    internal static InferenceServer Create(ServerOptions options, TextWriter log, Task? loadGate)
    {
        options.Validate();
        // Requests, the loader and Kestrel's logger write lines from different threads.
        log = TextWriter.Synchronized(log);
        var address = options.HostAddress();
        if (options.ChatTemplateFile is { } template && !File.Exists(template)) throw new FileNotFoundException($"chat template file not found: {template}", template);
        if (options.SlotSavePath is { } slots) Directory.CreateDirectory(slots);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new OneLineLoggerProvider(log));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownGrace + TimeSpan.FromSeconds(10));
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxBodyBytes;
            k.Listen(address, options.Port);
        });
        var app = builder.Build();
        var engine = new ServerEngine(options, log, loadGate);
        ServerRoutes.Map(app, engine, options, log);
        return new InferenceServer(app, engine, options, log);
    }

    /// <summary>The address the server listens on (after <see cref="StartAsync"/>).</summary>
    public Uri Address { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Completes when the model is loaded; faults with the reason when loading fails.</summary>
    public Task<LoadedModel> ModelReady => _engine.Ready;

    /// <summary>Starts listening and begins loading the model.</summary>
    public async Task StartAsync(CancellationToken cancellation = default)
    {
        var lifetime = _app.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStopping.Register(BeginShutdown);
        await _app.StartAsync(cancellation).ConfigureAwait(false);
        _started = true;
        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Address = new Uri(addresses.First().Replace("[::]", "[::1]", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal) + "/");
        _log.WriteLine($"listening on {addresses.First()} (chat page at /, API under /v1)");
        _engine.StartLoading();
    }

    /// <summary>Waits until the server is asked to stop (SIGTERM, Ctrl+C) or <paramref name="cancellation"/> fires, and stops it.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellation = default) => _app.WaitForShutdownAsync(cancellation);

    /// <summary>Stops listening, after in-flight requests end (see the class summary).</summary>
    public Task StopAsync(CancellationToken cancellation = default) => _started ? _app.StopAsync(cancellation) : Task.CompletedTask;

    private void BeginShutdown()
    {
        if (_engine.Loaded is not { } loaded) return;
        loaded.Scheduler.BeginShutdown();
        _ = Task.Delay(_options.ShutdownGrace).ContinueWith(_ => loaded.Scheduler.CancelAll(), TaskScheduler.Default);
    }

    /// <summary>Stops the server if it runs, then frees the model (waiting for a load in progress to end).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        if (_started) await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        if (_started)
        {
            try
            {
                await (await _engine.Ready.ConfigureAwait(false)).DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Loading failed: there is nothing to free, and the failure was reported where it happened.
            }
        }
    }

    /// <summary>
    /// Runs the server until SIGTERM, Ctrl+C or <paramref name="cancellation"/>: 0 after a clean shutdown, 1 when the
    /// model cannot be loaded or the address cannot be bound (one line on <paramref name="log"/> says why).
    /// </summary>
    public static async Task<int> RunAsync(ServerOptions options, TextWriter log, CancellationToken cancellation = default)
    {
        await using var server = Create(options, log);
        try
        {
            await server.StartAsync(cancellation).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            log.WriteLine(SharpInfer.Files.SafeText.Line($"error: cannot listen on {options.Host}:{options.Port}: {e.Message}"));
            return 1;
        }
        var shutdown = server.WaitForShutdownAsync(cancellation);
        var first = await Task.WhenAny(server.ModelReady, shutdown).ConfigureAwait(false);
        if (first == server.ModelReady && server.ModelReady.IsFaulted)
        {
            log.WriteLine($"error: {server._engine.Failure}");
            await server.StopAsync(CancellationToken.None).ConfigureAwait(false);
            return 1;
        }
        await shutdown.ConfigureAwait(false);
        log.WriteLine("server stopped");
        return 0;
    }
}
