using System.Net.Http.Headers;
using System.Text;

namespace SharpInfer.Server.Tests;

/// <summary>Malformed and hostile bodies against every endpoint that reads one: each gets a 4xx, never a 500, and the server keeps answering.</summary>
public class FuzzTests
{
    private const string Chat = "/v1/chat/completions", Complete = "/v1/completions", Tokenize = "/tokenize", Detokenize = "/detokenize", Slots = "/slots/0?action=save", Embed = "/v1/embeddings";

    /// <summary>Each hostile body with the endpoints it is aimed at (garbage goes to all of them).</summary>
    private static IEnumerable<(string[] Endpoints, byte[] Body)> HostileBodies()
    {
        string[] all = [Chat, Complete, Tokenize, Detokenize, "/apply-template", Slots, Embed];
        string chat(string extra) => "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 2" + extra + "}";
        string[] garbage =
        [
            "", " ", "{", "}", "[]", "null", "123", "\"text\"", "true", "{\"a\":}", "{,}", "{\"messages\": NaN}", "{'messages': []}",
            new string('[', 10000) + new string(']', 10000), "{\"a\":" + string.Concat(Enumerable.Repeat("{\"a\":", 200)) + "1" + new string('}', 201),
            "{\"x\": \"\\ud800\"}", "{\"\\udc00\": 1}",
        ];
        string[] messages =
        [
            "{\"messages\": 5}", "{\"messages\": {}}", "{\"messages\": []}", "{\"messages\": [5]}", "{\"messages\": [null]}",
            "{\"messages\": [{\"role\": 5, \"content\": \"x\"}]}", "{\"messages\": [{\"role\": \"user\", \"content\": {\"a\": 1}}]}",
            "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"x\"}}]}]}",
            "{\"messages\": [{\"role\": \"user\", \"content\": [5]}]}", "{\"messages\": [{\"role\": \"\", \"content\": \"x\"}]}",
            "{\"messages\": [{\"role\": \"" + new string('r', 5000) + "\", \"content\": \"x\"}]}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"messages\": []}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"\\ud800\"}]}",
            "{\"messages\": [{\"role\": \"user\", \"content\": \"\\u0000\"}], \"tools\": 5}",
        ];
        string[] generation =
        [
            chat(", \"max_tokens\": 1e400"), chat(", \"max_tokens\": -1"), chat(", \"max_tokens\": 1.5"), chat(", \"max_tokens\": 99999999999999999999999"),
            chat(", \"max_tokens\": 1e-5"), chat(", \"temperature\": 1e308"), chat(", \"temperature\": -0.5"), chat(", \"temperature\": \"hot\""),
            chat(", \"temperature\": [1]"), chat(", \"top_p\": 2"), chat(", \"top_k\": -3"), chat(", \"min_p\": 1.01"), chat(", \"repeat_penalty\": 0"),
            chat(", \"presence_penalty\": 3"), chat(", \"frequency_penalty\": -2.5"), chat(", \"seed\": 1.5"), chat(", \"seed\": 1e30"),
            chat(", \"seed\": \"1\""), chat(", \"n\": 0"), chat(", \"n\": 1000"), chat(", \"n\": -1"), chat(", \"stream\": \"yes\""),
            chat(", \"stream_options\": 5"), chat(", \"stream_options\": {\"include_usage\": 1}"), chat(", \"stop\": 5"),
            chat(", \"stop\": [1, 2]"), chat(", \"stop\": [" + string.Join(",", Enumerable.Repeat("\"x\"", 40)) + "]"),
            chat(", \"stop\": \"" + new string('s', 2000) + "\""), chat(", \"logit_bias\": []"), chat(", \"logit_bias\": {\"abc\": 1}"),
            chat(", \"logit_bias\": {\"-1\": 1}"), chat(", \"logit_bias\": {\"99999999999\": 1}"), chat(", \"logit_bias\": {\"1\": 500}"),
            chat(", \"logit_bias\": {\"1\": \"x\"}"), chat(", \"logit_bias\": {\"1\": null}"), chat(", \"logprobs\": \"yes\""),
            chat(", \"top_logprobs\": 25, \"logprobs\": true"), chat(", \"top_logprobs\": 3"), chat(", \"ignore_eos\": 1"), chat(", \"model\": 7"),
        ];
        string[] prompts =
        [
            "{}", "{\"prompt\": []}", "{\"prompt\": [[]]}", "{\"prompt\": [-1]}", "{\"prompt\": [1e10]}", "{\"prompt\": [1.5]}", "{\"prompt\": [null]}",
            "{\"prompt\": {\"a\": 1}}", "{\"prompt\": [\"a\", 5]}", "{\"prompt\": [[1], \"a\"]}", "{\"prompt\": \"hi\", \"suffix\": \"there\"}",
            "{\"prompt\": \"hi\", \"logprobs\": 9}", "{\"prompt\": \"hi\", \"best_of\": 3}", "{\"prompt\": [" + string.Join(",", Enumerable.Repeat("[1]", 100)) + "]}",
            "{\"prompt\": \"hi\", \"echo\": \"yes\"}", "{\"prompt\": [\"a\", [1]]}",
        ];
        string[] tokens = ["{\"content\": 5}", "{\"content\": null}", "{\"content\": \"a\", \"add_special\": 2}"];
        string[] ids = ["{\"tokens\": [\"a\"]}", "{\"tokens\": [600]}", "{\"tokens\": 5}", "{\"tokens\": [null]}", "{\"tokens\": [-5]}"];
        string[] inputs =
        [
            "{}", "{\"input\": 5}", "{\"input\": null}", "{\"input\": []}", "{\"input\": [[]]}", "{\"input\": [\"\"]}", "{\"input\": \"\"}",
            "{\"input\": [-1]}", "{\"input\": [[1e10]]}", "{\"input\": [1.5]}", "{\"input\": [\"a\", 5]}", "{\"input\": {\"a\": 1}}",
            "{\"input\": \"hi\", \"encoding_format\": \"hex\"}", "{\"input\": \"hi\", \"dimensions\": -3}", "{\"input\": \"hi\", \"encoding_format\": 5}",
            "{\"input\": [" + string.Join(",", Enumerable.Repeat("\"a\"", 5000)) + "]}", "{\"input\": \"" + new string('x', 100_000) + "\"}",
        ];
        string[] files = ["{\"filename\": \"../../etc/passwd\"}", "{\"filename\": 5}", "{\"filename\": \"/tmp/x\"}", "{\"filename\": \"..\"}", "{\"filename\": \".hidden\"}", "{\"filename\": \"a/b\"}", "{\"filename\": \"\"}"];
        foreach (var t in garbage) yield return (all, Encoding.UTF8.GetBytes(t));
        foreach (var t in messages) yield return ([Chat, "/apply-template"], Encoding.UTF8.GetBytes(t));
        foreach (var t in generation) yield return ([Chat], Encoding.UTF8.GetBytes(t));
        foreach (var t in prompts) yield return ([Complete], Encoding.UTF8.GetBytes(t));
        foreach (var t in tokens) yield return ([Tokenize], Encoding.UTF8.GetBytes(t));
        foreach (var t in ids) yield return ([Detokenize], Encoding.UTF8.GetBytes(t));
        foreach (var t in files) yield return ([Slots], Encoding.UTF8.GetBytes(t));
        foreach (var t in inputs) yield return ([Embed], Encoding.UTF8.GetBytes(t));
        // Invalid UTF-8: a bare byte-order-mark mess, a broken two-byte sequence, an encoded surrogate.
        yield return (all, [0xff, 0xfe, 0x7b, 0x7d]);
        yield return (all, Encoding.UTF8.GetBytes("{\"content\": \"").Concat(new byte[] { 0xc3, 0x28, 0xa0, 0xa1 }).Concat(Encoding.UTF8.GetBytes("\"}")).ToArray());
        yield return (all, Encoding.UTF8.GetBytes("{\"messages\": [{\"role\": \"user\", \"content\": \"").Concat(new byte[] { 0xed, 0xa0, 0x80 }).Concat(Encoding.UTF8.GetBytes("\"}]}")).ToArray());
    }

    [Fact]
    public async Task HostileBodiesGet4xxNeverA500()
    {
        await using var server = await TestServer.StartAsync(o => o with { Parallel = 2, ContextSize = 256 });
        var failures = new List<string>();
        int sent = 0;
        foreach (var (endpoints, body) in HostileBodies())
        {
            foreach (var endpoint in endpoints)
            {
                int status = await PostAsync(server, endpoint, body);
                sent++;
                if (status is < 400 or >= 500) failures.Add($"{endpoint} {status}: {Describe(body)}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(30)));
        Assert.True(sent > 150);
        Assert.DoesNotContain("error:", server.Log);
        Assert.Equal(200, (await server.PostJsonAsync("/tokenize", new System.Text.Json.Nodes.JsonObject { ["content"] = "still here" })).Status);
    }

    [Fact]
    public async Task RandomMutationsOfValidBodiesNeverGetA500()
    {
        await using var server = await TestServer.StartAsync(o => o with { Parallel = 2, ContextSize = 256 });
        string[] valid =
        [
            "{\"messages\": [{\"role\": \"user\", \"content\": \"Once upon a time\"}], \"max_tokens\": 3, \"temperature\": 0.5, \"stop\": [\"x\"], \"logit_bias\": {\"5\": -1}}",
            "{\"prompt\": [1, 403, 407, 261], \"max_tokens\": 3, \"logprobs\": 2, \"n\": 2}",
            "{\"prompt\": \"Once\", \"max_tokens\": 2, \"stream\": true, \"stream_options\": {\"include_usage\": true}}",
        ];
        var random = new Random(1234);
        var failures = new List<string>();
        for (int i = 0; i < 300; i++)
        {
            var body = Encoding.UTF8.GetBytes(valid[i % valid.Length]);
            body = Mutate(body, random);
            string endpoint = i % valid.Length == 0 ? Chat : Complete;
            int status = await PostAsync(server, endpoint, body);
            if (status >= 500) failures.Add($"{endpoint} {status}: {Describe(body)}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
        Assert.Equal(0, (await server.IdleMetricsAsync())["sharpinfer_requests_running"]);
    }

    private const string Symbols = "{}[]\",:0-9.e\\";

    private static byte[] Mutate(byte[] body, Random random)
    {
        var bytes = body.ToList();
        int edits = 1 + random.Next(4);
        for (int e = 0; e < edits && bytes.Count > 0; e++)
        {
            int at = random.Next(bytes.Count);
            switch (random.Next(5))
            {
                case 0: bytes[at] = (byte)random.Next(256); break;
                case 1: bytes.RemoveAt(at); break;
                case 2: bytes.Insert(at, (byte)Symbols[random.Next(Symbols.Length)]); break;
                case 3: bytes.RemoveRange(at, bytes.Count - at); break;
                default: bytes.InsertRange(at, bytes.GetRange(at, Math.Min(8, bytes.Count - at))); break;
            }
        }
        return bytes.ToArray();
    }

    private static async Task<int> PostAsync(TestServer server, string endpoint, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await server.Http.PostAsync(endpoint, content);
        await response.Content.ReadAsByteArrayAsync();
        return (int)response.StatusCode;
    }

    private static string Describe(byte[] body)
    {
        string text = Encoding.UTF8.GetString(body);
        return text.Length > 120 ? text[..120] + "…" : text;
    }
}
