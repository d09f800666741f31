using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using SharpInfer.Files;
using SharpInfer.Inference;
using SharpInfer.KvCache;

namespace SharpInfer.Server.Api;

/// <summary>
/// <c>POST /slots/{id}?action=save|restore|erase</c> (llama-server's shape): save writes the slot's cached tokens and
/// cells to a file under <c>--slot-save-path</c>, restore loads such a file back into the prefix cache, erase evicts
/// the slot's cached tokens. File names only: no folders, no leading dot, so <c>../</c> and absolute paths are refused;
/// an existing file is replaced only when it is a state file itself.
/// </summary>
internal static partial class Slots
{
    /// <summary>The first bytes of every state file (<see cref="KvState"/>'s magic, "SIKV").</summary>

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex FileNamePattern();

    public static async Task HandleAsync(HttpContext http, LoadedModel model, string? slotPath, string id)
    {
        if (!int.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int slot) || slot >= model.Scheduler.MaxRunningSequences)
        {
            throw new ApiException(400, $"slot id must be 0..{model.Scheduler.MaxRunningSequences - 1}", "id_slot", "invalid_value");
        }
        string action = http.Request.Query["action"].ToString();
        var clock = Stopwatch.StartNew();
        JsonObject result = action switch
        {
            "save" => await SaveAsync(model, Path(slotPath, await FileNameAsync(http).ConfigureAwait(false)), slot).ConfigureAwait(false),
            "restore" => await RestoreAsync(model, Path(slotPath, await FileNameAsync(http).ConfigureAwait(false)), slot).ConfigureAwait(false),
            "erase" => new JsonObject { ["n_erased"] = await Run(() => model.Scheduler.EraseSlotAsync(slot)).ConfigureAwait(false) },
            _ => throw new ApiException(400, "action must be save, restore or erase", "action", "invalid_value"),
        };
        result["id_slot"] = slot;
        if (action != "erase") result["timings"] = new JsonObject { [action + "_ms"] = clock.Elapsed.TotalMilliseconds };
        await Json.WriteAsync(http, result).ConfigureAwait(false);
    }

    private static async Task<string> FileNameAsync(HttpContext http)
    {
        var f = new RequestFields(await Json.ReadObjectAsync(http).ConfigureAwait(false));
        string name = f.String("filename") ?? throw ApiException.Invalid("filename", "'filename' is required");
        if (!FileNamePattern().IsMatch(name) || name.Contains("..", StringComparison.Ordinal))
        {
            throw ApiException.Invalid("filename", "'filename' must be a plain file name (letters, digits, '.', '_', '-'; no folders, no leading dot, no '..')");
        }
        return name;
    }

    private static (string Full, string Name) Path(string? folder, string name)
    {
        if (folder is null) throw new ApiException(501, "slot files are off; start the server with --slot-save-path DIR");
        return (System.IO.Path.Combine(folder, name), name);
    }

    private static async Task<JsonObject> SaveAsync(LoadedModel model, (string Full, string Name) file, int slot)
    {
        if (Directory.Exists(file.Full)) throw ApiException.Invalid("filename", $"'{file.Name}' is a folder");
        if (File.Exists(file.Full) && new FileInfo(file.Full).Length > 0 && !KvState.FileKind.Recognises(file.Full))
        {
            throw ApiException.Invalid("filename", $"'{file.Name}' exists and is not a SharpInfer state file; it is not replaced");
        }
        // The output-file rule, as every file SharpInfer writes: a temporary beside the target, fsynced, renamed over it
        // (only over a state file) and the folder fsynced. The engine thread writes the rows; this thread waits for it.
        SlotSaveResult? saved = null;
        try
        {
            await Task.Run(() => OutputFile.Write(file.Full, KvState.FileKind, stream =>
                saved = Run(() => model.Scheduler.SaveSlotAsync(slot, stream)).GetAwaiter().GetResult())).ConfigureAwait(false);
        }
        catch (OutputPathException)
        {
            // The file changed under the save (the rule is checked again at the rename); the server's paths stay private.
            throw ApiException.Invalid("filename", $"'{file.Name}' cannot be written: it is not a SharpInfer state file any more");
        }
        // The bytes the file holds (the write went through a stream that cannot report its position).
        return new JsonObject { ["filename"] = file.Name, ["n_saved"] = saved!.Tokens, ["n_written"] = new FileInfo(file.Full).Length };
    }

    private static async Task<JsonObject> RestoreAsync(LoadedModel model, (string Full, string Name) file, int slot)
    {
        if (!File.Exists(file.Full)) throw new ApiException(404, $"no slot file '{file.Name}'", "filename", "not_found");
        long bytes = new FileInfo(file.Full).Length;
        await using var stream = File.OpenRead(file.Full);
        int tokens = await Run(() => model.Scheduler.RestoreSlotAsync(slot, stream)).ConfigureAwait(false);
        return new JsonObject { ["filename"] = file.Name, ["n_restored"] = tokens, ["n_read"] = bytes };
    }

    /// <summary>The scheduler's refusals as API errors: nothing cached or busy → 400, a bad file → 400, no prefix cache → 501.</summary>
    private static async Task<T> Run<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            throw new ApiException(400, e.Message, "id_slot");
        }
        catch (KvStateException e)
        {
            throw new ApiException(400, $"the slot file cannot be restored: {e.Message}", "filename", "invalid_state_file");
        }
        catch (NotSupportedException e)
        {
            throw new ApiException(501, e.Message);
        }
    }
}
