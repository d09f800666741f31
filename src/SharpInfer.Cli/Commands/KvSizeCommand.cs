using System.CommandLine;
using System.Text.Json;
using SharpInfer.Gguf;
using SharpInfer.Inference;
using SharpInfer.KvCache;
using SharpInfer.Models;
using SharpInfer.Tensors;

namespace SharpInfer.Cli.Commands;

/// <summary><c>sharpinfer kv-size</c>: the exact KV cache bytes for a model and settings, computed without allocating or reading weights.</summary>
internal static class KvSizeCommand
{
    public static Command Create(CliIO io)
    {
        var model = new Option<string>("--model", "-m") { Description = "GGUF model (only its metadata is read)", Required = true };
        var cells = new Option<int>("--ctx-size", "-c") { Description = "cells of the whole cache, shared by all sequences (default: training context, at most 4096)" };
        var typeK = new Option<string?>("--cache-type-k", "-ctk") { Description = "K cache type (default f16)" };
        var typeV = new Option<string?>("--cache-type-v", "-ctv") { Description = "V cache type (default f16)" };
        var parallel = new Option<int>("--parallel", "-np") { Description = "sequences", DefaultValueFactory = _ => 1 };
        var unified = new Option<bool>("--kv-unified") { Description = "one pool for all sequences (default true)", DefaultValueFactory = _ => true };
        var ubatch = new Option<int>("--ubatch-size", "-ub") { Description = "micro-batch (sizes sliding-window caches)", DefaultValueFactory = _ => 512 };
        var swaFull = new Option<bool>("--swa-full") { Description = "full-size sliding-window caches (default: window + micro-batch cells)" };
        var json = new Option<bool>("--json") { Description = "print JSON" };
        var mla = CommonOptions.MlaOption();
        var command = new Command("kv-size", "Print the exact KV cache size for a model") { model, cells, typeK, typeV, parallel, unified, ubatch, swaFull, mla, json };
        command.SetAction(parse =>
        {
            using var file = GgufFile.Open(CommonOptions.ResolveModel(parse.GetValue(model)!));
            var spec = SharpInfer.Models.Architectures.ModelArchitecture.Describe(file.Metadata);
            int ctx = parse.GetValue(cells);
            if (ctx < 0) throw new UsageException($"--ctx-size must be positive (got {ctx})");
            if (ctx == 0) ctx = Math.Min(spec.TrainingContext, 4096);
            int micro = parse.GetValue(ubatch);
            if (micro < 1) throw new UsageException($"--ubatch-size must be positive (got {micro})");
            int p = parse.GetValue(parallel);
            if (p < 1) throw new UsageException($"--parallel must be at least 1 (got {p})");
            var options = new KvCacheOptions
            {
                Cells = ctx,
                TypeK = CommonOptions.ParseCacheType(parse.GetValue(typeK), GgmlType.F16, "--cache-type-k"),
                TypeV = CommonOptions.ParseCacheType(parse.GetValue(typeV), GgmlType.F16, "--cache-type-v"),
                MaxSequences = p,
                Unified = parse.GetValue(unified),
                RecycleWindowCells = !parse.GetValue(swaFull),
            };
            var mode = CommonOptions.ParseMla(parse.GetValue(mla));
            var layout = spec.KvLayoutFor(mode);
            var (k, v, _) = KvCacheSet.ComputeBytes(options, layout, Math.Min(micro, ctx));
            var contextOptions = new ContextOptions
            {
                ContextSize = ctx, TypeK = options.TypeK, TypeV = options.TypeV, MaxSequences = p, UnifiedKv = options.Unified,
                MicroBatchSize = micro, SwaFull = !options.RecycleWindowCells, Mla = mode,
            };
            var (kvWithCells, scratch) = ContextMemory.Estimate(spec, contextOptions);
            long needed = kvWithCells + scratch;
            long? available = SystemMemory.AvailableBytes();
            int fits = available is long a && needed > a ? ContextMemory.LargestFitting(spec, contextOptions, a) : ctx;
            ctx = KvCacheGroup.AllocatedCells(options);
            var groups = KvCacheSet.PlanGroups(options, layout, Math.Min(micro, ctx)).Select(g =>
            {
                var shapes = g.Members.Select(l => layout[l].Shape).ToArray();
                var (gk, gv) = KvCacheGroup.ComputeBytes(g.Options, shapes);
                return (g.Options, Layers: shapes.Length, Cells: KvCacheGroup.AllocatedCells(g.Options), K: gk, V: gv);
            }).ToArray();
            if (parse.GetValue(json))
            {
                var payload = new Dictionary<string, object?>
                {
                    ["cells"] = ctx,
                    ["layers"] = spec.LayerCount,
                    ["seqs"] = p,
                    ["unified"] = options.Unified,
                    ["type_k"] = options.TypeK.ToString().ToLowerInvariant(),
                    ["type_v"] = options.TypeV.ToString().ToLowerInvariant(),
                    ["k_bytes"] = k,
                    ["v_bytes"] = v,
                    ["total_bytes"] = k + v,
                    ["groups"] = groups.Select(g => new Dictionary<string, object>
                    {
                        ["window"] = g.Options.SlidingWindow,
                        ["cells"] = g.Cells,
                        ["layers"] = g.Layers,
                        ["k_bytes"] = g.K,
                        ["v_bytes"] = g.V,
                    }).ToArray(),
                    ["context_bytes"] = needed,
                    ["available_bytes"] = available,
                    ["fits"] = available is null || needed <= available,
                };
                if (spec.HasLatentAttention) payload["mla"] = mode.ToString().ToLowerInvariant();
                io.Out.WriteLine(JsonSerializer.Serialize(payload));
            }
            else
            {
                if (groups.Length > 1 || groups[0].Options.SlidingWindow > 0)
                {
                    foreach (var g in groups)
                    {
                        string line = KvCacheGroup.FormatReport(g.K, g.V, g.Cells, g.Layers, g.Options);
                        io.Out.WriteLine(g.Options.SlidingWindow > 0 ? line.Replace("kv cache:", $"kv cache (window {g.Options.SlidingWindow}):", StringComparison.Ordinal) : line);
                    }
                }
                string total = KvCacheGroup.FormatReport(k, v, ctx, spec.LayerCount, options);
                io.Out.WriteLine(groups.Length > 1 ? total.Replace("kv cache:", "kv cache total:", StringComparison.Ordinal) : total);
                io.Out.WriteLine($"bytes: K {k}, V {v}, total {k + v} ({(double)(k + v) / ctx:F1} per cell)");
                io.Out.WriteLine(available is not long free
                    ? $"memory: the context needs {ContextMemory.Gib(needed)} with its buffers (the memory available is unknown here)"
                    : needed <= free
                        ? $"memory: the context needs {ContextMemory.Gib(needed)} with its buffers; {ContextMemory.Gib(free)} available, it fits"
                        : $"memory: the context needs {ContextMemory.Gib(needed)} with its buffers; {ContextMemory.Gib(free)} available, at most {fits} cells fit (-c {fits})");
                if (spec.HasLatentAttention) WriteMlaComparison(io, options, spec, mode, Math.Min(micro, ctx));
            }
            return 0;
        });
        return command;
    }

    /// <summary>For a latent-attention model, the same cache in the other MLA mode, per token, for comparison.</summary>
    private static void WriteMlaComparison(CliIO io, KvCacheOptions options, ModelSpec spec, MlaMode mode, int micro)
    {
        var other = mode == MlaMode.Absorb ? MlaMode.Naive : MlaMode.Absorb;
        long PerToken(MlaMode m)
        {
            var (k, v, _) = KvCacheSet.ComputeBytes(options, spec.KvLayoutFor(m), micro);
            return (k + v) / KvCacheGroup.AllocatedCells(options);
        }
        string Name(MlaMode m) => m == MlaMode.Absorb ? "latent (--mla absorb)" : "decompressed (--mla naive)";
        long mine = PerToken(mode), theirs = PerToken(other);
        io.Out.WriteLine($"mla: {Name(mode)} {mine} bytes per token; {Name(other)} would take {theirs} ({(double)Math.Max(mine, theirs) / Math.Max(1, Math.Min(mine, theirs)):F1}×)");
    }
}
