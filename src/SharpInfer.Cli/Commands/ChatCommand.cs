using System.CommandLine;
using SharpInfer.Chat;
using SharpInfer.Inference;
using SharpInfer.Tensors;
using SharpInfer.Templates;

namespace SharpInfer.Cli.Commands;

/// <summary>
/// <c>sharpinfer chat -m MODEL [sampling options] [-n N] [--stop T] [--chat-template FILE] [--system TEXT]</c>:
/// a conversation at the terminal (or one user message per line of piped input), its history kept in the KV cache.
/// </summary>
internal static class ChatCommand
{
    public static Command Create(CliIO io)
    {
        var common = new CommonOptions();
        var sampler = new SamplingOptionSet();
        var tokens = new Option<int>("--n-predict", "-n") { Description = "tokens per reply at most (-1: until the model ends its turn)", DefaultValueFactory = _ => -1 };
        var stop = new Option<string[]>("--stop") { Description = "end a reply when this text appears (repeatable)", AllowMultipleArgumentsPerToken = false };
        var chatTemplate = new Option<string?>("--chat-template") { Description = "Jinja chat template file to use instead of the model's (default: the model's own, or ChatML)" };
        var system = new Option<string?>("--system") { Description = "system prompt" };
        var command = new Command("chat", "Chat with a model (interactive, or one message per line of piped input)") { tokens, stop, chatTemplate, system };
        sampler.AddTo(command);
        common.AddTo(command);
        command.SetAction(async parse =>
        {
            var sampling = sampler.Read(parse);
            int n = parse.GetValue(tokens);
            if (n < -1 || n == 0) throw new UsageException($"-n must be -1 or positive (got {n})");
            var contextOptions = common.ContextOptions(parse, io);
            using var model = CommonOptions.LoadModel(parse.GetValue(common.Model)!, io, out _);
            var template = ChatTemplates.Resolve(model.File.Metadata, parse.GetValue(chatTemplate), w => io.Err.WriteLine($"warning: {w}"));
            using var context = model.CreateContext(contextOptions);
            var session = new ChatSession(context, template) { SystemPrompt = parse.GetValue(system) };
            session.Notice += notice => io.Err.WriteLine(notice);
            var generation = new GenerationOptions { MaxTokens = n, Sampling = sampling, StopStrings = parse.GetValue(stop) ?? [] };
            if (io.Interactive)
            {
                io.Err.WriteLine($"chatting with {model.Name} ({context.Kv.Capacity} tokens of context). /reset clears the conversation, /system TEXT sets the system prompt, /exit leaves; Ctrl+C stops a reply, Ctrl+C at the prompt leaves.");
            }
            return await new ChatConsole(io, session, generation).RunAsync();
        });
        return command;
    }
}
