using System.CommandLine;
using SharpInfer.Server;
using SharpInfer.Tensors;

namespace SharpInfer.Cli.Commands;

/// <summary><c>sharpinfer serve</c>: the OpenAI-compatible server until SIGTERM or Ctrl+C (exit code 0).</summary>
internal static class ServeCommand
{
    public static Command Create(CliIO io)
    {
        var common = new CommonOptions();
        var host = new Option<string>("--host") { Description = "address to listen on (default loopback; 0.0.0.0 for every interface)", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "port (0: any free port)", DefaultValueFactory = _ => 8080 };
        var parallel = new Option<int>("--parallel", "-np") { Description = "sequences decoded together (a request with n choices takes n); more requests queue", DefaultValueFactory = _ => 4 };
        var batch = new Option<int>("--batch-size", "-b") { Description = "tokens evaluated per step: every running sequence's next token, then waiting prompt tokens (default: the micro-batch size)" };
        var queue = new Option<int>("--max-queue") { Description = "requests that may wait beyond the running ones; more are answered 503", DefaultValueFactory = _ => 64 };
        var apiKey = new Option<string?>("--api-key") { Description = "require 'Authorization: Bearer KEY' on every API request (default: none, no key needed)" };
        var template = new Option<string?>("--chat-template") { Description = "Jinja chat template file to use instead of the model's (default: the model's own, or ChatML)" };
        var slots = new Option<string?>("--slot-save-path") { Description = "folder for POST /slots/{id}?action=save|restore files (default: none, slot files are off)" };
        var alias = new Option<string?>("--alias") { Description = "model name the API reports (default: the file name)" };
        var noPrefix = new Option<bool>("--no-prefix-cache") { Description = "do not keep evaluated prefixes for later requests" };
        var body = new Option<long>("--max-body") { Description = "largest request body in bytes (larger: 413)", DefaultValueFactory = _ => 8 << 20 };
        var grace = new Option<double>("--shutdown-grace") { Description = "seconds running requests may go on after SIGTERM before they are cancelled", DefaultValueFactory = _ => 5 };
        var command = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API with a chat page") { host, port, parallel, batch, queue, apiKey, template, slots, alias, noPrefix, body, grace };
        common.AddTo(command);
        command.SetAction(async (parse, cancellation) =>
        {
            var context = common.ContextOptions(parse, io);
            double graceSeconds = parse.GetValue(grace);
            if (!double.IsFinite(graceSeconds) || graceSeconds < 0 || graceSeconds > 3600) throw new UsageException($"--shutdown-grace must be 0..3600 seconds (got {graceSeconds})");
            var options = new ServerOptions
            {
                ModelPath = CommonOptions.ResolveModel(parse.GetValue(common.Model)!),
                ModelAlias = parse.GetValue(alias),
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                Parallel = parse.GetValue(parallel),
                MaxQueue = parse.GetValue(queue),
                ContextSize = context.ContextSize,
                Threads = context.Threads,
                MicroBatchSize = context.MicroBatchSize,
                StepTokens = parse.GetValue(batch),
                CacheTypeK = context.TypeK,
                CacheTypeV = context.TypeV,
                PrefixCache = !parse.GetValue(noPrefix),
                SwaFull = context.SwaFull,
                Mla = context.Mla,
                ApiKey = parse.GetValue(apiKey),
                ChatTemplateFile = parse.GetValue(template),
                SlotSavePath = parse.GetValue(slots),
                MaxBodyBytes = parse.GetValue(body),
                ShutdownGrace = TimeSpan.FromSeconds(graceSeconds),
            };
            // Out-of-range values are usage errors (exit 2), as every other command reports them.
            try { options.Validate(); }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, io.Cancellation);
            io.SignalsEndNormally = true;
            return await InferenceServer.RunAsync(options, io.Err, linked.Token);
        });
        return command;
    }
}
