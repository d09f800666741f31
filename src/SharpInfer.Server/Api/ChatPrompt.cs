using System.Text;
using System.Text.Json.Nodes;
using SharpInfer.Templates;

namespace SharpInfer.Server.Api;

/// <summary>From a request's messages to the prompt text and tokens, through the model's chat template.</summary>
internal static class ChatPrompt
{
    private const int MaxRoleLength = 64;

    /// <summary>
    /// Checks the messages and hands the template a clean copy: each message an object with a string role, content a
    /// string, null, or an array of text parts (joined into one string; other part types are refused).
    /// </summary>
    public static JsonArray Messages(JsonArray? raw)
    {
        if (raw is null) throw ApiException.Invalid("messages", "'messages' is required: an array of {role, content} objects");
        if (raw.Count == 0) throw ApiException.Invalid("messages", "'messages' must not be empty");
        var messages = new JsonArray();
        for (int i = 0; i < raw.Count; i++)
        {
            string param = $"messages[{i}]";
            if (raw[i] is not JsonObject message) throw ApiException.Invalid(param, $"'{param}' must be an object");
            string role = RequestFields.String(message["role"], $"{param}.role", MaxRoleLength) ?? throw ApiException.Invalid($"{param}.role", $"'{param}.role' is required");
            if (role.Length == 0) throw ApiException.Invalid($"{param}.role", $"'{param}.role' must not be empty");
            var copy = (JsonObject)message.DeepClone();
            copy["content"] = Content(message["content"], $"{param}.content");
            messages.Add(copy);
        }
        return messages;
    }

    private static JsonNode? Content(JsonNode? content, string param)
    {
        switch (content)
        {
            case null:
                return null;
            case JsonValue:
                return RequestFields.String(content, param);
            case JsonArray parts:
                var text = new StringBuilder();
                for (int i = 0; i < parts.Count; i++)
                {
                    string partParam = $"{param}[{i}]";
                    if (parts[i] is not JsonObject part) throw ApiException.Invalid(partParam, $"'{partParam}' must be an object");
                    string? type = RequestFields.String(part["type"], $"{partParam}.type");
                    if (type != "text") throw ApiException.Invalid($"{partParam}.type", $"only text content is supported (got type '{type}')");
                    text.Append(RequestFields.String(part["text"], $"{partParam}.text") ?? throw ApiException.Invalid($"{partParam}.text", $"'{partParam}.text' is required"));
                }
                return text.ToString();
            default:
                throw ApiException.Invalid(param, $"'{param}' must be a string, an array of text parts or null");
        }
    }

    /// <summary>Renders the conversation; a template error (raise_exception included) is a 400.</summary>
    public static string Render(LoadedModel model, JsonArray messages, JsonArray? tools, bool addGenerationPrompt)
    {
        try
        {
            return model.Host.RenderChat(messages, tools is null ? null : (JsonArray)tools.DeepClone(), addGenerationPrompt);
        }
        catch (TemplateException e)
        {
            throw new ApiException(400, $"the chat template refused the messages: {e.Message}", "messages", "template_error");
        }
    }

    /// <summary>Tokenizes rendered text (see <see cref="Inference.InferenceHost.TokenizeChatPrompt"/>).</summary>
    public static int[] Tokenize(LoadedModel model, string text) => model.Host.TokenizeChatPrompt(text);
}
