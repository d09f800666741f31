using System.CommandLine;
using System.Text;
using System.Text.Json;
using SharpInfer.Gguf;
using SharpInfer.Tokenization;

namespace SharpInfer.Cli.Commands;

/// <summary><c>sharpinfer tokenize -m FILE (--text T | --file F) [--add-special] [--parse-special] [--json]</c>.</summary>
internal static class TokenizeCommand
{
    public static Command Create(CliIO io)
    {
        var model = new Option<string>("--model", "-m") { Description = "GGUF file whose tokenizer to use (a vocab-only file works)", Required = true };
        var text = new Option<string?>("--text") { Description = "text to tokenize" };
        var file = new Option<string?>("--file", "-f") { Description = "UTF-8 file to tokenize" };
        var addSpecial = new Option<bool>("--add-special") { Description = "add BOS/EOS as the model's metadata says" };
        var parseSpecial = new Option<bool>("--parse-special") { Description = "turn text such as <|eot_id|> into its control token" };
        var json = new Option<bool>("--json") { Description = "print a JSON array of ids" };
        var command = new Command("tokenize", "Show how a model's tokenizer splits text") { model, text, file, addSpecial, parseSpecial, json };
        command.SetAction(parse =>
        {
            string? t = parse.GetValue(text), f = parse.GetValue(file);
            if ((t is null) == (f is null)) throw new UsageException("give exactly one of --text or --file");
            string input = t ?? File.ReadAllText(f!, Encoding.UTF8);
            using var gguf = GgufFile.Open(CommonOptions.ResolveModel(parse.GetValue(model)!));
            var vocabulary = Vocabulary.FromGguf(gguf.Metadata);
            foreach (var warning in vocabulary.Warnings) io.Err.WriteLine($"warning: {warning}");
            var tokenizer = new Tokenizer(vocabulary);
            var ids = tokenizer.Tokenize(input, parse.GetValue(addSpecial), parse.GetValue(parseSpecial));
            if (parse.GetValue(json))
            {
                io.Out.WriteLine(JsonSerializer.Serialize(ids));
                return 0;
            }
            foreach (int id in ids)
            {
                string piece = Encoding.UTF8.GetString(tokenizer.TokenToPiece(id, special: true));
                io.Out.WriteLine($"{id,7} -> {JsonSerializer.Serialize(piece, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })}");
            }
            io.Err.WriteLine($"{ids.Length} tokens");
            return 0;
        });
        return command;
    }
}
