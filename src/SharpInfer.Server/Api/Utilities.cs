using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace SharpInfer.Server.Api;

/// <summary>The smaller endpoints: models, tokenize, detokenize, apply-template, metrics.</summary>
internal static class Utilities
{
    /// <summary><c>GET /v1/models</c>: the one model served.</summary>
    public static Task ModelsAsync(HttpContext http, LoadedModel model) => Json.WriteAsync(http, new JsonObject
    {
        ["object"] = "list",
        ["data"] = new JsonArray(new JsonObject
        {
            ["id"] = model.Name,
            ["object"] = "model",
            ["created"] = model.Created,
            ["owned_by"] = "sharpinfer",
            ["meta"] = new JsonObject
            {
                ["n_ctx"] = model.Context.Kv.Capacity,
                ["n_vocab"] = model.Context.VocabSize,
                ["n_parallel"] = model.Scheduler.MaxRunningSequences,
                ["architecture"] = model.Model.Architecture,
            },
        }),
    });

    /// <summary><c>POST /tokenize</c> {content, add_special = false, parse_special = true, with_pieces = false} → {tokens}.</summary>
    public static async Task TokenizeAsync(HttpContext http, LoadedModel model)
    {
        var f = new RequestFields(await Json.ReadObjectAsync(http).ConfigureAwait(false));
        string content = f.String("content") ?? throw ApiException.Invalid("content", "'content' is required");
        bool addSpecial = f.Bool("add_special") ?? false, parseSpecial = f.Bool("parse_special") ?? true, withPieces = f.Bool("with_pieces") ?? false;
        var tokenizer = model.Model.Tokenizer;
        var tokens = new JsonArray();
        foreach (int id in tokenizer.Tokenize(content, addSpecial, parseSpecial))
        {
            tokens.Add(withPieces ? new JsonObject { ["id"] = id, ["piece"] = Responses.Piece(tokenizer, id).Text } : JsonValue.Create(id));
        }
        await Json.WriteAsync(http, new JsonObject { ["tokens"] = tokens }).ConfigureAwait(false);
    }

    /// <summary><c>POST /detokenize</c> {tokens} → {content}.</summary>
    public static async Task DetokenizeAsync(HttpContext http, LoadedModel model)
    {
        var f = new RequestFields(await Json.ReadObjectAsync(http).ConfigureAwait(false));
        var ids = RequestFields.TokenIds(f.Array("tokens") ?? throw ApiException.Invalid("tokens", "'tokens' is required"), "tokens", model.Context.VocabSize);
        await Json.WriteAsync(http, new JsonObject { ["content"] = model.Model.Tokenizer.Detokenize(ids) }).ConfigureAwait(false);
    }

    /// <summary><c>POST /apply-template</c> {messages, tools?} → {prompt}: the text chat completions would evaluate.</summary>
    public static async Task ApplyTemplateAsync(HttpContext http, LoadedModel model)
    {
        var f = new RequestFields(await Json.ReadObjectAsync(http).ConfigureAwait(false));
        var messages = ChatPrompt.Messages(f.Array("messages"));
        string prompt = ChatPrompt.Render(model, messages, f.Array("tools"), addGenerationPrompt: true);
        await Json.WriteAsync(http, new JsonObject { ["prompt"] = prompt }).ConfigureAwait(false);
    }

    /// <summary><c>GET /metrics</c>: Prometheus text format, names prefixed <c>sharpinfer_</c>.</summary>
    public static async Task MetricsAsync(HttpContext http, LoadedModel? model)
    {
        var m = model?.Scheduler.Metrics;
        var text = new StringBuilder();
        void Metric(string name, string type, string help, double value)
        {
            text.Append("# HELP sharpinfer_").Append(name).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE sharpinfer_").Append(name).Append(' ').Append(type).Append('\n');
            text.Append("sharpinfer_").Append(name).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        Metric("model_loaded", "gauge", "1 once the model is loaded and requests are served.", model is null ? 0 : 1);
        Metric("requests_running", "gauge", "Requests holding sequences now.", m?.RequestsRunning ?? 0);
        Metric("requests_queued", "gauge", "Requests waiting for a sequence or for cells.", m?.RequestsQueued ?? 0);
        Metric("requests_total", "counter", "Generation requests accepted.", m?.RequestsTotal ?? 0);
        Metric("prompt_tokens_total", "counter", "Prompt tokens of accepted requests.", m?.PromptTokensTotal ?? 0);
        Metric("generated_tokens_total", "counter", "Tokens generated.", m?.GeneratedTokensTotal ?? 0);
        Metric("kv_cells_used", "gauge", "KV cache cells in use, by running sequences or the prefix cache.", m?.KvCellsUsed ?? 0);
        Metric("kv_cells_total", "gauge", "KV cache cells.", m?.KvCellsTotal ?? 0);
        Metric("prefix_cache_cells", "gauge", "Cells the prefix cache owns (reclaimable unless a running sequence shares them).", m?.PrefixCacheCells ?? 0);
        Metric("prefix_cache_hit_tokens_total", "counter", "Prompt tokens taken from the prefix cache instead of evaluated.", m?.PrefixCacheHitTokensTotal ?? 0);
        Metric("preemptions_total", "counter", "Times a running request was paused to free cells.", m?.PreemptionsTotal ?? 0);
        Metric("steps_total", "counter", "Evaluation steps (batches) run.", m?.StepsTotal ?? 0);
        http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await http.Response.WriteAsync(text.ToString(), http.RequestAborted).ConfigureAwait(false);
    }
}
