using System.CommandLine;
using System.Globalization;
using SharpInfer.Hub;

namespace SharpInfer.Cli.Commands;

/// <summary>
/// <c>sharpinfer pull OWNER/REPO[:FILE]</c> or <c>pull --url URL [--sha256 HEX] [-o FILE]</c>: downloads a model into
/// the model folder (or FILE) with a progress line, resuming an interrupted download and checking the size and
/// SHA-256 before the file takes its name (see <see cref="ModelDownloader"/>).
/// </summary>
internal static class PullCommand
{
    public static Command Create(CliIO io)
    {
        var model = new Argument<string?>("MODEL") { Description = "Hugging Face model: owner/repo (its one GGUF file), owner/repo:FILE.gguf or owner/repo/FILE.gguf", Arity = ArgumentArity.ZeroOrOne };
        var url = new Option<string?>("--url") { Description = "download this http(s) URL instead (default: none)" };
        var sha = new Option<string?>("--sha256") { Description = "expected SHA-256 in hex (default: the one the server states, if any)" };
        var output = new Option<string?>("--output", "-o") { Description = $"file to write (default: under the model folder, ${ModelStore.RootVariable} or ~/.cache/sharpinfer/models)" };
        var command = new Command("pull", "Download a model (Hugging Face owner/repo[:file], or any URL) into the local model folder") { model, url, sha, output };
        command.SetAction(async (parse, cancellation) =>
        {
            string? name = parse.GetValue(model), address = parse.GetValue(url), target = parse.GetValue(output);
            if ((name is null) == (address is null)) throw new UsageException("give a model (owner/repo[:FILE]) or --url URL, not both");
            var store = ModelStore.Default();
            using var http = ModelDownloader.CreateHttpClient();
            Uri source;
            string? token = null;
            string label;
            if (name is not null)
            {
                if (!ModelReference.TryParse(name, out var reference)) throw new UsageException($"{Files.SafeText.Quote(name)} is not a model name: give owner/repo, owner/repo:FILE.gguf or owner/repo/FILE.gguf (or --url URL)");
                var hub = HuggingFaceHub.FromEnvironment();
                try
                {
                    reference = await hub.ResolveFileAsync(http, reference!, cancellation);
                }
                catch (ArgumentException e)
                {
                    throw new UsageException(e.Message);
                }
                source = hub.FileUrl(reference);
                token = hub.Token;
                target ??= store.PathFor(reference);
                label = reference.ToString();
            }
            else
            {
                if (!Uri.TryCreate(address, UriKind.Absolute, out source!) || source.Scheme is not ("http" or "https")) throw new UsageException($"--url must be an absolute http or https URL (got {Files.SafeText.Quote(address)})");
                string fileName = Uri.UnescapeDataString(source.Segments.LastOrDefault() ?? "").Trim('/');
                if (target is null && (fileName.Length == 0 || fileName is "." or ".." || fileName.Any(c => char.IsControl(c) || c is '/' or '\\')))
                {
                    throw new UsageException("the URL names no file; give -o FILE");
                }
                target ??= Path.Combine(store.Root, source.Host, fileName);
                label = source.AbsoluteUri;
            }
            // The model folder is ours to create; a folder named with -o must exist (the output-file rule says so).
            if (parse.GetValue(output) is null) Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(target))!);
            return await DownloadAsync(io, new ModelDownloader(http), source, target, parse.GetValue(sha), token, label, cancellation);
        });
        return command;
    }

    private static async Task<int> DownloadAsync(CliIO io, ModelDownloader downloader, Uri source, string target, string? sha, string? token, string label, CancellationToken cancellation)
    {
        using var progress = new ProgressReporter(io, "pull");
        downloader.Progress = (done, total) =>
        {
            double rate = done / Math.Max(0.001, progress.Elapsed.TotalSeconds);
            if (total is long t && t > 0) progress.Report((double)done / t, $"{ProgressReporter.Bytes(done)} of {ProgressReporter.Bytes(t)}, {ProgressReporter.Bytes(rate)}/s", done == t);
            else progress.ReportUnbounded($"{ProgressReporter.Bytes(done)}, {ProgressReporter.Bytes(rate)}/s");
        };
        DownloadResult result;
        try
        {
            result = await downloader.DownloadAsync(source, target, sha, token, cancellation);
        }
        catch (OperationCanceledException e) when (!cancellation.IsCancellationRequested)
        {
            // Not the user's Ctrl+C: a timeout inside the HTTP stack. That is a failed download (exit 1), not a cancel.
            throw new IOException($"the server did not answer in time ({label})", e);
        }
        catch (OperationCanceledException)
        {
            progress.Clear();
            string partial = Path.GetFullPath(target) + ".download";
            if (File.Exists(partial)) io.Err.WriteLine($"note: {new FileInfo(partial).Length} bytes are kept in {partial}; run the same command again to resume");
            throw;
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        finally
        {
            progress.Clear();
        }
        string size = ProgressReporter.Bytes(result.Bytes);
        if (result.AlreadyPresent)
        {
            io.Out.WriteLine($"up to date: {result.Path} ({size}, sha256 {result.Sha256} matches {result.Verified})");
            return 0;
        }
        if (result.Verified is null) io.Err.WriteLine("warning: neither the server nor --sha256 states a SHA-256, so only the size could be checked");
        string resumed = result.ResumedFrom > 0 ? string.Create(CultureInfo.InvariantCulture, $", resumed after {ProgressReporter.Bytes(result.ResumedFrom)}") : "";
        string verified = result.Verified is null ? "" : $", verified against {result.Verified}";
        io.Out.WriteLine($"pulled {label} to {result.Path} ({size}, sha256 {result.Sha256}{verified}{resumed})");
        return 0;
    }
}
