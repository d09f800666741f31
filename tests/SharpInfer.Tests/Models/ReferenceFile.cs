using System.Text.Json;

namespace SharpInfer.Tests.Models;

/// <summary>A llama.cpp reference file from ../shared/reference.</summary>
public sealed class ReferenceFile
{
    public sealed record Position(int Argmax, double LogSumExp, double Std, (int Id, double Logit)[] Top);

    public sealed record Case(string Prompt, int[] Tokens, Position[] Positions, int[] Greedy, string? GreedyText, double[] GreedyMargin);

    public required Case[] Cases { get; init; }

    public static ReferenceFile Load(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SharedData.File($"reference/{name}.json")));
        return Parse(doc.RootElement);
    }

    public static ReferenceFile Parse(JsonElement root) => new()
    {
        Cases = root.GetProperty("cases").EnumerateArray().Select(c => new Case(
            c.GetProperty("prompt").GetString()!,
            c.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            c.GetProperty("positions").EnumerateArray().Select(p => new Position(
                p.GetProperty("argmax").GetInt32(),
                p.GetProperty("logsumexp").GetDouble(),
                p.GetProperty("std").GetDouble(),
                p.GetProperty("top").EnumerateArray().Select(t => (t[0].GetInt32(), t[1].GetDouble())).ToArray())).ToArray(),
            c.GetProperty("greedy").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            c.GetProperty("greedy_text").ValueKind == JsonValueKind.Null ? null : c.GetProperty("greedy_text").GetString(),
            c.GetProperty("greedy_margin").EnumerateArray().Select(e => e.GetDouble()).ToArray())).ToArray(),
    };
}
