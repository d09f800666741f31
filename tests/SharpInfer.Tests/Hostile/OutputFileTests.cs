using System.Diagnostics;
using SharpInfer.Files;
using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Tests.Hostile;

/// <summary>
/// The one rule for every file SharpInfer writes (<see cref="OutputFile"/>): only a file of the kind being written,
/// or nothing, is replaced; never a directory, a device, a file of another kind or one of the run's inputs; the write
/// goes through a temporary file that a failure or a cancellation removes.
/// </summary>
[Collection(ProcessWideOutputs.Name)]
public sealed class OutputFileTests : IDisposable
{
    private static readonly FileKind Kind = new("test file", "TEST"u8);
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpinfer-output-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static void WriteOurs(Stream s, string body = "") => s.Write(System.Text.Encoding.ASCII.GetBytes("TEST" + body));

    private string ErrorFor(string path, params string[] inputs) =>
        Assert.Throws<OutputPathException>(() => OutputFile.Write(path, Kind, s => WriteOurs(s), inputs: inputs)).Message;

    [Fact]
    public void NothingOrAFileOfTheSameKindIsReplaced()
    {
        string path = PathOf("a.test");
        OutputFile.Write(path, Kind, s => WriteOurs(s, "1"));
        OutputFile.Write(path, Kind, s => WriteOurs(s, "2"));
        Assert.Equal("TEST2", File.ReadAllText(path));
        File.WriteAllBytes(path, []);
        OutputFile.Write(path, Kind, s => WriteOurs(s, "3"));
        Assert.Equal("TEST3", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void AFileOfAnotherKindIsRefusedAndKept()
    {
        string path = PathOf("notes.txt");
        File.WriteAllText(path, "my notes");
        Assert.Contains("is not a test file", ErrorFor(path));
        Assert.Equal("my notes", File.ReadAllText(path));
        string model = PathOf("model.gguf");
        File.Copy(SharedData.Stories, model);
        Assert.Contains("is not a test file", ErrorFor(model));
        Assert.Equal(File.ReadAllBytes(SharedData.Stories), File.ReadAllBytes(model));
        Assert.Equal(2, Directory.GetFiles(_dir).Length);
    }

    [Fact]
    public void DirectoriesMissingFoldersAndDevicesAreRefused()
    {
        Assert.Contains("is a directory", ErrorFor(_dir));
        Assert.Contains("output folder", ErrorFor(Path.Combine(_dir, "no-such-folder", "x.test")));
        if (OperatingSystem.IsLinux()) Assert.Contains("not a regular file", ErrorFor("/dev/null"));
    }

    [LinuxFact]
    public void APipeIsRefused()
    {
        string fifo = PathOf("pipe");
        using (var mkfifo = Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        Assert.Contains("not a regular file", ErrorFor(fifo));
    }

    [LinuxFact]
    public void AnInputIsRefusedByPathLinkOrHardLink()
    {
        string input = PathOf("in.test");
        File.WriteAllText(input, "TEST input");
        Assert.Contains("is an input", ErrorFor(input, input));
        string link = PathOf("link.test");
        File.CreateSymbolicLink(link, input);
        Assert.Contains("is an input", ErrorFor(link, input));
        string hard = PathOf("hard.test");
        using (var ln = Process.Start("ln", [input, hard])) ln.WaitForExit();
        Assert.Contains("is an input", ErrorFor(hard, input));
        Assert.Equal("TEST input", File.ReadAllText(input));
    }

    [Fact]
    public void AFailedOrCancelledWriteLeavesTheOldFileAndNoTemporary()
    {
        string path = PathOf("a.test");
        OutputFile.Write(path, Kind, s => WriteOurs(s, "old"));
        Assert.Throws<IOException>(() => OutputFile.Write(path, Kind, s =>
        {
            WriteOurs(s, "new");
            throw new IOException("disk full");
        }));
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() => OutputFile.Write(path, Kind, s =>
        {
            WriteOurs(s, "new");
            cancel.Cancel();
            WriteOurs(s, "more");
        }, cancel.Token));
        Assert.Equal("TESTold", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void StaleTemporariesOfDeadWritersAreRemovedByTheNextWrite()
    {
        string path = PathOf("a.test");
        // PIDs never reach 99999999 (Linux caps them at 4194304), so this writer is surely dead.
        string stale = path + ".tmp-99999999";
        File.WriteAllText(stale, "half written");
        string live = path + ".tmp-" + Environment.ProcessId;
        string other = PathOf("b.test.tmp-99999999");
        File.WriteAllText(other, "another output's");
        OutputFile.Write(path, Kind, s => WriteOurs(s));
        Assert.False(File.Exists(stale));
        Assert.False(File.Exists(live));
        Assert.True(File.Exists(other));
    }

    /// <summary>Two writes of one path at once (two slot saves, say) each have a temporary file of their own; one of them wins whole.</summary>
    [Fact]
    public void ConcurrentWritesOfOnePathDoNotShareATemporaryFile()
    {
        string path = PathOf("a.test");
        using var bothWriting = new Barrier(2);
        var writers = new[] { "first", "second" }.Select(text => Task.Run(() => OutputFile.Write(path, Kind, s =>
        {
            WriteOurs(s, text);
            bothWriting.SignalAndWait(TimeSpan.FromSeconds(10));
        }))).ToArray();
        Task.WaitAll(writers, TimeSpan.FromSeconds(30));
        Assert.Contains(File.ReadAllText(path), new[] { "TESTfirst", "TESTsecond" });
        Assert.Single(Directory.GetFiles(_dir));
    }

    /// <summary>What a second Ctrl+C does before the process ends: the write in progress loses its temporary file (and fails).</summary>
    [Fact]
    public void ActiveTemporariesCanBeRemovedFromASignalHandler()
    {
        string path = PathOf("a.test");
        string temps = $"a.test.tmp-{Environment.ProcessId}-*";
        bool existedDuringWrite = false;
        Assert.ThrowsAny<IOException>(() => OutputFile.Write(path, Kind, s =>
        {
            WriteOurs(s);
            s.Flush();
            existedDuringWrite = Directory.GetFiles(_dir, temps).Length == 1;
            OutputFile.RemoveActiveTemporaries();
        }));
        Assert.True(existedDuringWrite);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void GgufWritersFollowTheRule()
    {
        string notes = PathOf("notes.txt");
        File.WriteAllText(notes, "keep me");
        var w = new GgufWriter();
        w.AddTensor("t", GgmlType.F32, [4], new byte[16]);
        Assert.Throws<OutputPathException>(() => w.Save(notes));
        Assert.Equal("keep me", File.ReadAllText(notes));
        Assert.True(GgufFile.Kind.Recognises(SharedData.Stories));
        Assert.False(GgufFile.Kind.Recognises(notes));
    }
}
