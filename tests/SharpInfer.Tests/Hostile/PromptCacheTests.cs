using SharpInfer.Inference;
using SharpInfer.Models;
using SharpInfer.Tests.Cli;

namespace SharpInfer.Tests.Hostile;

/// <summary>
/// <c>run --prompt-cache FILE</c> may only replace a SharpInfer state file (or nothing): the model, or any other file,
/// is refused with a clear error before any work, and a state file is written atomically.
/// </summary>
public sealed class PromptCacheTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-promptcache-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Model()
    {
        string path = Path.Combine(_dir, "model.gguf");
        if (!File.Exists(path)) File.Copy(SharedData.Stories, path);
        return path;
    }

    [Fact]
    public void TheModelItselfIsRefusedAndUntouched()
    {
        string model = Model();
        var r = CliRunner.Run("run", "-m", model, "-p", "Once upon a time", "-n", "4", "--prompt-cache", model);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("is an input of this run", r.Err);
        Assert.Equal("", r.Out);
        Assert.DoesNotContain("kv cache:", r.Err);
        Assert.Equal(File.ReadAllBytes(SharedData.Stories), File.ReadAllBytes(model));
    }

    [Fact]
    public void AnotherModelOrAnyOtherFileIsRefusedAndUntouched()
    {
        string other = Path.Combine(_dir, "other.gguf");
        File.Copy(SharedData.Synth("F32"), other);
        string notes = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(notes, "mine");
        foreach (string target in new[] { other, notes })
        {
            byte[] before = File.ReadAllBytes(target);
            var r = CliRunner.Run("run", "-m", Model(), "-p", "Once upon a time", "-n", "4", "--prompt-cache", target);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("is not a SharpInfer KV state file", r.Err);
            Assert.Single(r.Err.Trim().Split('\n'));
            Assert.Equal(before, File.ReadAllBytes(target));
        }
        Assert.Equal(3, Directory.GetFiles(_dir).Length);
    }

    [Fact]
    public void TheLibraryRefusesBeforeEvaluatingAnything()
    {
        string notes = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(notes, "mine");
        using var model = SharpInfer.Models.Model.Load(Model());
        using var context = model.CreateContext(new ContextOptions { ContextSize = 64 });
        var generator = new Generator(context);
        Assert.Throws<SharpInfer.Files.OutputPathException>(() => generator.Generate("Once upon a time", new GenerationOptions { MaxTokens = 2, PromptCachePath = notes }));
        Assert.Equal(0, context.Kv.Used);
        Assert.Equal("mine", File.ReadAllText(notes));
    }

    [Fact]
    public void AStateFileIsReplacedAtomicallyAndReused()
    {
        string cache = Path.Combine(_dir, "prompt.state");
        var first = CliRunner.Run("run", "-m", Model(), "-p", "Once upon a time", "-n", "2", "--prompt-cache", cache);
        Assert.True(first.ExitCode == 0, first.Err);
        Assert.True(SharpInfer.KvCache.KvState.FileKind.Recognises(cache));
        var second = CliRunner.Run("run", "-m", Model(), "-p", "Once upon a time there", "-n", "2", "--prompt-cache", cache);
        Assert.True(second.ExitCode == 0, second.Err);
        Assert.Contains("prompt cache: reused", second.Err);
        Assert.Equal(new[] { "model.gguf", "prompt.state" }, Directory.GetFiles(_dir).Select(Path.GetFileName).Order().ToArray());
    }
}
