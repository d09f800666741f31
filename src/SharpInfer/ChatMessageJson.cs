using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace SharpInfer;

/// <summary>
/// <c>Microsoft.Extensions.AI</c> messages and tools as the JSON a chat template reads (the shape of OpenAI's API
/// and of Hugging Face's <c>apply_chat_template</c>): <c>{role, content}</c>, assistant <c>tool_calls</c> with their
/// arguments as objects, <c>tool</c> messages with <c>tool_call_id</c>, and <c>{type: function, function: {…}}</c> tools.
/// </summary>
internal static class ChatMessageJson
{
    /// <summary>The conversation, with <paramref name="instructions"/> (if any) as a first system message.</summary>
    public static JsonArray Messages(IEnumerable<ChatMessage> messages, string? instructions)
    {
        var result = new JsonArray();
        if (!string.IsNullOrEmpty(instructions)) result.Add(new JsonObject { ["role"] = "system", ["content"] = instructions });
        foreach (var message in messages)
        {
            var text = new StringBuilder();
            var calls = new JsonArray();
            var results = new List<JsonObject>();
            foreach (var content in message.Contents)
            {
                switch (content)
                {
                    case TextContent t:
                        text.Append(t.Text);
                        break;
                    case FunctionCallContent call:
                        calls.Add(new JsonObject
                        {
                            ["id"] = call.CallId,
                            ["type"] = "function",
                            ["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = Arguments(call.Arguments) },
                        });
                        break;
                    case FunctionResultContent r:
                        results.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = r.CallId, ["content"] = ResultText(r.Result) });
                        break;
                    case TextReasoningContent or UsageContent:
                        break; // Not part of what the model reads back.
                    default:
                        throw new NotSupportedException($"SharpInfer reads text, function calls and function results; {content.GetType().Name} is not supported");
                }
            }
            // A message holding only function results becomes the tool messages themselves.
            if (results.Count > 0 && text.Length == 0 && calls.Count == 0)
            {
                foreach (var r in results) result.Add(r);
                continue;
            }
            var json = new JsonObject { ["role"] = message.Role.Value, ["content"] = calls.Count > 0 && text.Length == 0 ? null : text.ToString() };
            if (calls.Count > 0) json["tool_calls"] = calls;
            result.Add(json);
            foreach (var r in results) result.Add(r);
        }
        return result;
    }

    /// <summary>The function tools of <paramref name="tools"/> (null when there are none; other tool kinds have no template form).</summary>
    public static JsonArray? Tools(IList<AITool>? tools)
    {
        if (tools is null) return null;
        var result = new JsonArray();
        foreach (var tool in tools.OfType<AIFunctionDeclaration>())
        {
            result.Add(new JsonObject
            {
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = tool.Name,
                    ["description"] = tool.Description,
                    ["parameters"] = JsonNode.Parse(tool.JsonSchema.GetRawText()),
                },
            });
        }
        return result.Count > 0 ? result : null;
    }

    private static JsonObject Arguments(IDictionary<string, object?>? arguments)
    {
        var result = new JsonObject();
        if (arguments is null) return result;
        foreach (var (name, value) in arguments) result[name] = JsonSerializer.SerializeToNode(value, AIJsonUtilities.DefaultOptions);
        return result;
    }

    private static string ResultText(object? result) => result switch
    {
        null => "",
        string s => s,
        _ => JsonSerializer.Serialize(result, AIJsonUtilities.DefaultOptions),
    };
}
