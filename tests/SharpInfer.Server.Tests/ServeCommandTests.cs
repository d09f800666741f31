using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SharpInfer.Cli;
using SharpInfer.Tests;

namespace SharpInfer.Server.Tests;

/// <summary>The <c>serve</c> and <c>serve-bench</c> commands: their errors, SIGTERM in a real process, and the benchmark's figures.</summary>
public partial class ServeCommandTests
{
    private static async Task<(int Code, string Out, string Err)> RunCliAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await CliApp.RunAsync(args, stdout, TextWriter.Synchronized(stderr));
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task BadInvocationsFailWithOneLine()
    {
        var missing = await RunCliAsync("serve", "-m", "/nonexistent/model.gguf", "--port", "0");
        Assert.Equal(1, missing.Code);
        Assert.Contains("error:", missing.Err);
        Assert.DoesNotContain("   at ", missing.Err);

        var port = await RunCliAsync("serve", "-m", SharedData.Stories, "--port", "70000");
        Assert.Equal(2, port.Code);
        Assert.Contains("--port must be", port.Err);

        var host = await RunCliAsync("serve", "-m", SharedData.Stories, "--host", "my-laptop");
        Assert.Equal(2, host.Code);
        Assert.Contains("--host must be an IP address", host.Err);

        var template = await RunCliAsync("serve", "-m", SharedData.Stories, "--chat-template", "/nonexistent.jinja");
        Assert.Equal(1, template.Code);
        Assert.Contains("chat template file not found", template.Err);

        Assert.Equal(2, (await RunCliAsync("serve", "-m", SharedData.Stories, "--frobnicate")).Code);

        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int busy = ((IPEndPoint)taken.LocalEndpoint).Port;
        var inUse = await RunCliAsync("serve", "-m", SharedData.Stories, "--port", busy.ToString());
        Assert.Equal(1, inUse.Code);
        Assert.Contains("cannot listen", inUse.Err);
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [GeneratedRegex(@"listening on (http://[^ ]+)")]
    private static partial Regex ListeningLine();

    [Theory]
    [InlineData(0.2)]
    [InlineData(4.0)]
    public async Task SigtermStopsTheServerCleanlyWithExitCodeZero(double graceSeconds)
    {
        Assert.True(OperatingSystem.IsLinux(), "this test sends SIGTERM");
        string cli = Path.Combine(AppContext.BaseDirectory, "SharpInfer.Cli.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { cli, "serve", "-m", SharedData.Stories, "--port", "0", "-t", "1", "-c", "16384", "--shutdown-grace", graceSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = new StringBuilder();
        var address = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var loaded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderr) stderr.AppendLine(e.Data);
            if (ListeningLine().Match(e.Data) is { Success: true } m) address.TrySetResult(m.Groups[1].Value);
            if (e.Data.StartsWith("model loaded", StringComparison.Ordinal)) loaded.TrySetResult();
        };
        process.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(await address.Task.WaitAsync(TimeSpan.FromSeconds(60))) };
            await loaded.Task.WaitAsync(TimeSpan.FromSeconds(60));

            // A long streaming request is in flight when the signal comes.
            var body = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 100000, \"ignore_eos\": true, \"stream\": true}";
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await reader.ReadLineAsync());
            var signalled = Stopwatch.StartNew();
            Assert.Equal(0, Kill(process.Id, 15));

            string rest = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(rest.Contains("\"finish_reason\":\"length\"") || rest.Contains("shutting down"), "the in-flight stream neither finished nor said the server is shutting down");
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, process.ExitCode);
            lock (stderr) Assert.Contains("server stopped", stderr.ToString());
            // The running request had its whole grace (the command-line library once ended the process 2 s after a signal);
            // 16384 cells keep it generating well past 4 s, so the grace, not the request, decides when the server ends.
            if (graceSeconds > 1) Assert.Contains("shutting down", rest);
            Assert.True(signalled.Elapsed.TotalSeconds >= graceSeconds * 0.9, $"the server exited {signalled.Elapsed.TotalSeconds:0.0} s after SIGTERM, within its {graceSeconds} s grace");
        }
        finally
        {
            if (!process.HasExited) process.Kill();
        }
    }

    [Fact]
    public async Task ServeBenchMeasuresEveryLevel()
    {
        await using var server = await TestServer.StartAsync(o => o with { Parallel = 4 });
        var json = await RunCliAsync("serve-bench", "--url", server.Address.ToString(), "--clients", "1,3", "-p", "16", "-n", "8", "-r", "2", "-o", "json");
        Assert.True(json.Code == 0, json.Err);
        var records = JsonNode.Parse(json.Out)!.AsArray();
        Assert.Equal(2, records.Count);
        foreach (var (record, clients) in records.Zip(new[] { 1, 3 }))
        {
            Assert.Equal(clients, (int)record!["clients"]!);
            Assert.Equal(clients * 2, (int)record["requests"]!);
            Assert.Equal(0, (int)record["errors"]!);
            Assert.Equal(clients * 2 * 8, (int)record["generated_tokens"]!);
            Assert.True((double)record["tokens_per_second"]! > 0);
            Assert.True((double)record["ttft_median_ms"]! > 0 && (double)record["ttft_p99_ms"]! >= (double)record["ttft_median_ms"]!);
            Assert.True((double)record["itl_p99_ms"]! >= (double)record["itl_median_ms"]!);
        }
        var m = await server.MetricsAsync();
        Assert.Equal(1 + 2 + 6, m["sharpinfer_requests_total"]);

        var table = await RunCliAsync("serve-bench", "--url", server.Address.ToString(), "--clients", "1", "-p", "8", "-n", "4", "-r", "2", "--shared-prefix", "6");
        Assert.Equal(0, table.Code);
        Assert.Contains("| clients | requests | errors | gen tokens/s | TTFT median ms | TTFT p99 ms | ITL median ms | ITL p99 ms |", table.Out);
        Assert.Contains("| 1 | 2 | 0 |", table.Out);
        Assert.True((await server.MetricsAsync())["sharpinfer_prefix_cache_hit_tokens_total"] >= 5, "the shared prefix should be taken from the cache");

        var down = await RunCliAsync("serve-bench", "--url", "http://127.0.0.1:1", "--clients", "1");
        Assert.Equal(1, down.Code);
        Assert.Contains("error:", down.Err);
    }
}
