using System.Text.Json.Nodes;

namespace SharpInfer.Server.Tests;

/// <summary><c>POST /slots/{id}?action=save|restore|erase</c> with files under <c>--slot-save-path</c>.</summary>
public sealed class SlotTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sharpinfer-slots-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static JsonObject File(string name) => new() { ["filename"] = name };

    [Fact]
    public async Task SaveEraseAndRestoreBringTheConversationBack()
    {
        await using var server = await TestServer.StartAsync(o => o with { Parallel = 1, SlotSavePath = _folder });
        var request = new JsonObject { ["prompt"] = "Once upon a time, there was a little girl named Lily.", ["max_tokens"] = 8, ["temperature"] = 0 };
        var (_, first) = await server.PostJsonAsync("/v1/completions", request.DeepClone());
        int promptTokens = (int)first!["usage"]!["prompt_tokens"]!;

        var (saveStatus, saved) = await server.PostJsonAsync("/slots/0?action=save", File("lily.bin"));
        Assert.Equal(200, saveStatus);
        Assert.Equal(promptTokens + 7, (int)saved!["n_saved"]!);
        Assert.Equal(new FileInfo(Path.Combine(_folder, "lily.bin")).Length, (long)saved["n_written"]!);
        Assert.Equal(0, (int)saved["id_slot"]!);
        Assert.Single(Directory.GetFiles(_folder));

        var (eraseStatus, erased) = await server.PostJsonAsync("/slots/0?action=erase", new JsonObject());
        Assert.Equal(200, eraseStatus);
        Assert.Equal(promptTokens + 7, (int)erased!["n_erased"]!);
        Assert.Equal(0, (await server.MetricsAsync())["sharpinfer_kv_cells_used"]);

        var (restoreStatus, restored) = await server.PostJsonAsync("/slots/0?action=restore", File("lily.bin"));
        Assert.Equal(200, restoreStatus);
        Assert.Equal(promptTokens + 7, (int)restored!["n_restored"]!);
        var (_, again) = await server.PostJsonAsync("/v1/completions", request.DeepClone());
        Assert.Equal(promptTokens - 1, (int)again!["usage"]!["prompt_tokens_details"]!["cached_tokens"]!);
        Assert.Equal((string?)first["choices"]![0]!["text"], (string?)again["choices"]![0]!["text"]);

        // Saving again over our own state file replaces it.
        Assert.Equal(200, (await server.PostJsonAsync("/slots/0?action=save", File("lily.bin"))).Status);
    }

    [Fact]
    public async Task FileNamesAreNamesOnlyAndForeignFilesAreNeverReplaced()
    {
        await using var server = await TestServer.StartAsync(o => o with { Parallel = 1, SlotSavePath = _folder });
        await server.PostJsonAsync("/v1/completions", new JsonObject { ["prompt"] = "Once upon a time", ["max_tokens"] = 3 });
        string outside = Path.Combine(Path.GetDirectoryName(_folder)!, Path.GetFileName(_folder) + "-outside.bin");
        foreach (string name in new[] { "../" + Path.GetFileName(outside), "..", ".", "", "a/b.bin", "/tmp/x.bin", ".hidden", "..\\\\x", "x\u0000y" })
        {
            var (status, body) = await server.PostJsonAsync("/slots/0?action=save", File(name));
            Assert.Equal(400, status);
            Assert.Equal("filename", (string?)body!["error"]!["param"]);
        }
        Assert.False(System.IO.File.Exists(outside));

        string mine = Path.Combine(_folder, "notes.txt");
        await System.IO.File.WriteAllTextAsync(mine, "my notes");
        var (refused, error) = await server.PostJsonAsync("/slots/0?action=save", File("notes.txt"));
        Assert.Equal(400, refused);
        Assert.Contains("not a SharpInfer state file", (string?)error!["error"]!["message"]);
        Assert.Equal("my notes", await System.IO.File.ReadAllTextAsync(mine));

        var (badRestore, restoreError) = await server.PostJsonAsync("/slots/0?action=restore", File("notes.txt"));
        Assert.Equal(400, badRestore);
        Assert.Equal("invalid_state_file", (string?)restoreError!["error"]!["code"]);
        Assert.Equal(404, (await server.PostJsonAsync("/slots/0?action=restore", File("missing.bin"))).Status);
        Assert.Equal(400, (await server.PostJsonAsync("/slots/1?action=save", File("x.bin"))).Status);
        Assert.Equal(400, (await server.PostJsonAsync("/slots/0?action=move", File("x.bin"))).Status);
        Assert.Equal(new[] { "notes.txt" }, Directory.GetFiles(_folder).Select(Path.GetFileName));
    }

    [Fact]
    public async Task WithoutASlotFolderSaveAndRestoreAreOff()
    {
        await using var server = await TestServer.StartAsync();
        var (status, body) = await server.PostJsonAsync("/slots/0?action=save", File("x.bin"));
        Assert.Equal(501, status);
        Assert.Contains("--slot-save-path", (string?)body!["error"]!["message"]);
    }
}
