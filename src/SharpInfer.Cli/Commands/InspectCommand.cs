using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SharpInfer.Gguf;
using SharpInfer.Tensors;

namespace SharpInfer.Cli.Commands;

/// <summary><c>sharpinfer inspect FILE [--json] [--full-arrays]</c>: metadata and tensor table of a GGUF file.</summary>
internal static class InspectCommand
{
    /// <summary>Arrays longer than this are shown as their type, length and first few items.</summary>
    private const int ArrayPreview = 8;

    public static Command Create(CliIO io)
    {
        var file = new Argument<string>("FILE") { Description = "GGUF file to read" };
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of text" };
        var full = new Option<bool>("--full-arrays") { Description = "print every item of long arrays" };
        var command = new Command("inspect", "Show a GGUF file's metadata and tensors") { file, json, full };
        command.SetAction(parse =>
        {
            using var gguf = GgufFile.Open(CommonOptions.ResolveModel(parse.GetValue(file)!));
            if (parse.GetValue(json)) WriteJson(gguf, io.Out, parse.GetValue(full));
            else WriteText(gguf, io.Out, parse.GetValue(full));
            return 0;
        });
        return command;
    }

    private static void WriteText(GgufFile gguf, TextWriter o, bool fullArrays)
    {
        o.WriteLine($"file:      {gguf.Path}");
        o.WriteLine($"format:    GGUF v{gguf.Version}, alignment {gguf.Alignment}, data at byte {gguf.DataOffset}, {gguf.FileSize} bytes");
        o.WriteLine($"metadata:  {gguf.Metadata.Count} keys");
        int keyWidth = gguf.Metadata.Count == 0 ? 0 : gguf.Metadata.Max(kv => kv.Key.Length);
        foreach (var (key, value) in gguf.Metadata)
        {
            string type = value.Type == GgufValueType.Array
                ? $"arr[{GgufValueTypeInfo.ShortName(value.AsArray().ElementType)}]"
                : GgufValueTypeInfo.ShortName(value.Type);
            o.WriteLine($"  {key.PadRight(keyWidth)}  {type,-9}  {FormatValue(value, fullArrays)}");
        }
        o.WriteLine($"tensors:   {gguf.Tensors.Count}");
        int nameWidth = Math.Max(4, gguf.Tensors.Count == 0 ? 0 : gguf.Tensors.Max(t => t.Name.Length));
        o.WriteLine($"  {"name".PadRight(nameWidth)}  {"type",-7}  {"shape",-22}  {"bytes",12}");
        foreach (var t in gguf.Tensors)
        {
            o.WriteLine($"  {t.Name.PadRight(nameWidth)}  {t.Type,-7}  {t.ShapeText,-22}  {t.ByteSize,12}");
        }
        long elements = gguf.ElementCount, bytes = gguf.TensorBytes;
        double bpw = elements == 0 ? 0 : bytes * 8.0 / elements;
        o.WriteLine($"total:     {elements} elements, {bytes} bytes ({bytes / 1048576.0:F2} MiB), {bpw.ToString("F2", CultureInfo.InvariantCulture)} bits per weight");
        foreach (var group in gguf.Tensors.GroupBy(t => t.Type).OrderBy(g => g.Key.ToString()))
        {
            o.WriteLine($"  {group.Key,-7} {group.Count(),5} tensors  {group.Sum(t => t.ElementCount),14} elements  {group.Sum(t => t.ByteSize),14} bytes");
        }
    }

    private static string FormatValue(GgufValue value, bool fullArrays)
    {
        if (value.Type == GgufValueType.String) return Quote(value.AsString());
        if (value.Type != GgufValueType.Array) return value.ToString();
        var array = value.AsArray();
        int shown = fullArrays ? array.Count : Math.Min(array.Count, ArrayPreview);
        var items = new List<string>(shown);
        for (int i = 0; i < shown; i++) items.Add(FormatItem(array, i, fullArrays));
        string more = shown < array.Count ? $", … ({array.Count} items)" : string.Empty;
        return "[" + string.Join(", ", items) + more + "]";
    }

    private static string FormatItem(GgufArray array, int i, bool fullArrays) => array.Items switch
    {
        byte[][] s => Quote(System.Text.Encoding.UTF8.GetString(s[i])),
        GgufArray[] a => FormatValue(GgufValue.FromArray(a[i]), fullArrays),
        float[] f => f[i].ToString("R", CultureInfo.InvariantCulture),
        double[] d => d[i].ToString("R", CultureInfo.InvariantCulture),
        bool[] b => b[i] ? "true" : "false",
        _ => Convert.ToString(array.Items.GetValue(i), CultureInfo.InvariantCulture) ?? "",
    };

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Quote(string s) => JsonSerializer.Serialize(s, Relaxed);

    private static void WriteJson(GgufFile gguf, TextWriter o, bool fullArrays)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("file", gguf.Path);
            w.WriteNumber("version", gguf.Version);
            w.WriteNumber("alignment", gguf.Alignment);
            w.WriteNumber("data_offset", gguf.DataOffset);
            w.WriteNumber("file_size", gguf.FileSize);
            w.WriteStartObject("metadata");
            foreach (var (key, value) in gguf.Metadata)
            {
                w.WritePropertyName(key);
                WriteJsonValue(w, value, fullArrays);
            }
            w.WriteEndObject();
            w.WriteStartArray("tensors");
            foreach (var t in gguf.Tensors)
            {
                w.WriteStartObject();
                w.WriteString("name", t.Name);
                w.WriteString("type", t.Type.ToString());
                w.WriteStartArray("shape");
                foreach (long d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteNumber("offset", t.Offset);
                w.WriteNumber("bytes", t.ByteSize);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            long elements = gguf.ElementCount, bytes = gguf.TensorBytes;
            w.WriteStartObject("totals");
            w.WriteNumber("tensors", gguf.Tensors.Count);
            w.WriteNumber("elements", elements);
            w.WriteNumber("bytes", bytes);
            w.WriteNumber("bits_per_weight", elements == 0 ? 0 : Math.Round(bytes * 8.0 / elements, 4));
            w.WriteEndObject();
            w.WriteEndObject();
        }
        o.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static void WriteJsonValue(Utf8JsonWriter w, GgufValue value, bool fullArrays)
    {
        switch (value.Raw)
        {
            case byte[]: w.WriteStringValue(value.AsString()); break;
            case bool b: w.WriteBooleanValue(b); break;
            case float f: WriteJsonFloat(w, f); break;
            case double d: WriteJsonFloat(w, d); break;
            case ulong u: w.WriteNumberValue(u); break;
            case GgufArray a: WriteJsonArray(w, a, fullArrays); break;
            default: w.WriteNumberValue(value.AsInt64()); break;
        }
    }

    private static void WriteJsonArray(Utf8JsonWriter w, GgufArray array, bool fullArrays)
    {
        bool summarise = !fullArrays && array.Count > ArrayPreview;
        if (summarise)
        {
            // Long arrays (vocabularies, merges) would swamp the output; show their shape and first items.
            w.WriteStartObject();
            w.WriteString("type", "arr");
            w.WriteString("element_type", GgufValueTypeInfo.ShortName(array.ElementType));
            w.WriteNumber("count", array.Count);
            w.WritePropertyName("head");
        }
        int shown = summarise ? ArrayPreview : array.Count;
        w.WriteStartArray();
        for (int i = 0; i < shown; i++)
        {
            switch (array.Items)
            {
                case byte[][] s: w.WriteStringValue(System.Text.Encoding.UTF8.GetString(s[i])); break;
                case GgufArray[] a: WriteJsonArray(w, a[i], fullArrays); break;
                case float[] f: WriteJsonFloat(w, f[i]); break;
                case double[] d: WriteJsonFloat(w, d[i]); break;
                case bool[] b: w.WriteBooleanValue(b[i]); break;
                case ulong[] u: w.WriteNumberValue(u[i]); break;
                default: w.WriteNumberValue(Convert.ToInt64(array.Items.GetValue(i), CultureInfo.InvariantCulture)); break;
            }
        }
        w.WriteEndArray();
        if (summarise) w.WriteEndObject();
    }

    private static void WriteJsonFloat(Utf8JsonWriter w, float v)
    {
        if (float.IsFinite(v)) w.WriteNumberValue(v);
        else w.WriteStringValue(v.ToString(CultureInfo.InvariantCulture));
    }

    private static void WriteJsonFloat(Utf8JsonWriter w, double v)
    {
        // JSON has no NaN or infinities; they are written as strings so the output stays valid.
        if (double.IsFinite(v)) w.WriteNumberValue(v);
        else w.WriteStringValue(v.ToString(CultureInfo.InvariantCulture));
    }
}
