using SharpInfer.Cli;

namespace SharpInfer.Tests.Cli;

/// <summary>
/// <c>sharpinfer chat</c> with piped input on stories260K (no chat template: ChatML and its warning) and with a
/// template override. Each reply must equal what <c>run</c> prints for the whole rendered conversation, which checks
/// the cache reuse end to end.
/// </summary>
public class ChatCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-chat-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Fast = ["-m", SharedData.Stories, "-t", "1", "-n", "12"];

    private static string ChatMl(params (string Role, string Content)[] messages) =>
        string.Concat(messages.Select(m => $"<|im_start|>{m.Role}\n{m.Content}<|im_end|>\n")) + "<|im_start|>assistant\n";

    /// <summary>What <c>run</c> prints (greedy, 12 tokens) for a prompt, without the newline it adds.</summary>
    private string Run(string prompt)
    {
        string file = Path.Combine(_dir, "prompt.txt");
        File.WriteAllText(file, prompt);
        var r = CliRunner.Run(["run", .. Fast, "-f", file]);
        Assert.Equal(0, r.ExitCode);
        return r.Out[..^Environment.NewLine.Length];
    }

    /// <summary>Splits piped chat output into replies: each is followed by a newline, and stories260K writes none of its own in 12 tokens.</summary>
    private static string[] Replies(string output) => output.Split(Environment.NewLine)[..^1];

    [Fact]
    public void PipedInputGetsOneReplyPerLineEachAsRunWouldContinueTheConversation()
    {
        var r = CliRunner.RunWithInput("Hello\n\nTell me a story.\n", ["chat", .. Fast]);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("warning: the model has no chat template (tokenizer.chat_template); using ChatML" + Environment.NewLine, r.Err);
        var replies = Replies(r.Out);
        Assert.Equal(2, replies.Length);
        Assert.Equal(Run(ChatMl(("user", "Hello"))), replies[0]);
        Assert.Equal(Run(ChatMl(("user", "Hello"), ("assistant", replies[0]), ("user", "Tell me a story."))), replies[1]);
    }

    [Fact]
    public void SystemPromptResetAndSlashCommands()
    {
        var r = CliRunner.RunWithInput("Hi\n/reset\n/system Tell stories.\nHi\n/nope\n//slash\n/exit\nnever sent\n", ["chat", .. Fast, "--system", "Be kind."]);
        Assert.Equal(0, r.ExitCode);
        var replies = Replies(r.Out);
        Assert.Equal(3, replies.Length);
        Assert.Equal(Run(ChatMl(("system", "Be kind."), ("user", "Hi"))), replies[0]);
        Assert.Equal(Run(ChatMl(("system", "Tell stories."), ("user", "Hi"))), replies[1]);
        Assert.Equal(Run(ChatMl(("system", "Tell stories."), ("user", "Hi"), ("assistant", replies[1]), ("user", "/slash"))), replies[2]);
        Assert.Contains("conversation cleared", r.Err);
        Assert.Contains("system prompt set", r.Err);
        Assert.Contains("unknown command '/nope'", r.Err);
    }

    [Fact]
    public void ATemplateOverrideIsUsedWithoutAWarning()
    {
        string template = Path.Combine(_dir, "plain.jinja");
        File.WriteAllText(template, "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}");
        var r = CliRunner.RunWithInput("Once upon a time\n", ["chat", .. Fast, "--chat-template", template]);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("", r.Err);
        Assert.Equal(Run("user: Once upon a time\nassistant:"), Replies(r.Out)[0]);
    }

    [Fact]
    public void TheTemplatesErrorIsReportedAndTheChatGoesOnButExitsWithOne()
    {
        string template = Path.Combine(_dir, "strict.jinja");
        File.WriteAllText(template, "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ m.content }}\n{% endfor %}");
        var r = CliRunner.RunWithInput("Hi\n/system x\nHi\n/system\nHi\n", ["chat", .. Fast, "--chat-template", template]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("error: System role not supported" + Environment.NewLine, r.Err);
        Assert.Equal(2, Replies(r.Out).Length);
    }

    [Fact]
    public void AFullContextDropsOldMessagesAndSaysSo()
    {
        var r = CliRunner.RunWithInput(string.Concat(Enumerable.Range(0, 6).Select(i => $"Message {i}\n")), ["chat", .. Fast, "-c", "128"]);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(6, Replies(r.Out).Length);
        Assert.Contains("the context is full: dropped the 2 oldest messages", r.Err);
    }

    [Fact]
    public void BadOptionsAreRefused()
    {
        Assert.Equal(2, CliRunner.RunWithInput("", "chat").ExitCode);
        var n = CliRunner.RunWithInput("", ["chat", "-m", SharedData.Stories, "-n", "0"]);
        Assert.Equal(2, n.ExitCode);
        Assert.Equal("error: -n must be -1 or positive (got 0)" + Environment.NewLine, n.Err);
        var template = CliRunner.RunWithInput("", ["chat", "-m", SharedData.Stories, "--chat-template", Path.Combine(_dir, "absent.jinja")]);
        Assert.Equal(1, template.ExitCode);
        Assert.Contains("absent.jinja", template.Err);
    }

    [Fact]
    public void CtrlCDuringAReplyStopsItAndCtrlCAtThePromptLeaves()
    {
        var interrupts = new CliInterrupts();
        using var release = new ManualResetEventSlim();
        // Ctrl+C on the second piece of the first reply; at the second prompt Ctrl+C while the read is still waiting.
        var output = new InterruptingWriter(interrupts, afterPieces: 2);
        var input = new ScriptedReader(["Hello"], () => interrupts.TryHandle(), release);
        try
        {
            var r = CliRunner.Run(input, output, interrupts, true, ["chat", "-m", SharedData.Stories, "-t", "1", "-n", "40"]);
            Assert.Equal(0, r.ExitCode);
            Assert.Contains("(reply stopped)", r.Err);
            Assert.Contains("chatting with", r.Err);
            Assert.StartsWith("> ", r.Out);
            Assert.True(output.Pieces < 40, $"the reply went on for {output.Pieces} pieces");
        }
        finally
        {
            release.Set();
        }
    }

    /// <summary>Raises Ctrl+C once after a number of written pieces that are not the prompt.</summary>
    private sealed class InterruptingWriter(CliInterrupts interrupts, int afterPieces) : StringWriter
    {
        public int Pieces { get; private set; }

        public override void Write(string? value)
        {
            base.Write(value);
            if (value is null or "> " || value == Environment.NewLine) return;
            if (++Pieces == afterPieces) interrupts.TryHandle();
        }
    }

    /// <summary>Gives its lines, then runs <paramref name="whenDone"/> and blocks like a terminal waiting for input.</summary>
    private sealed class ScriptedReader(string[] lines, Action whenDone, ManualResetEventSlim release) : TextReader
    {
        private int _next;

        public override string? ReadLine()
        {
            if (_next < lines.Length) return lines[_next++];
            whenDone();
            release.Wait();
            return null;
        }
    }
}
