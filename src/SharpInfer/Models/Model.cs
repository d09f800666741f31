using System.Security.Cryptography;
using SharpInfer.Gguf;
using SharpInfer.Models.Architectures;
using SharpInfer.Tokenization;

namespace SharpInfer.Models;

/// <summary>Options for <see cref="Model.Load"/>.</summary>
public sealed record ModelOptions
{
    /// <summary>Receives warnings found while loading (tokenizer fallbacks and the like).</summary>
    public Action<string>? Warning { get; init; }
}

/// <summary>
/// A GGUF model ready to run: the memory-mapped file, its network and its tokenizer. Weights are never copied;
/// the file stays mapped until the model is disposed. Create one or more inference contexts (SharpInfer.Inference) to evaluate it.
/// </summary>
public sealed class Model : IDisposable
{
    private Model(string path, GgufFile file, Network network, Tokenizer tokenizer)
    {
        Path = path;
        File = file;
        Network = network;
        Tokenizer = tokenizer;
    }

    /// <summary>Where the model was loaded from.</summary>
    public string Path { get; }

    /// <summary>The mapped GGUF file.</summary>
    public GgufFile File { get; }

    /// <summary>The network.</summary>
    public Network Network { get; }

    /// <summary>The tokenizer.</summary>
    public Tokenizer Tokenizer { get; }

    /// <summary>Architecture name.</summary>
    public string Architecture => Network.Spec.Architecture;

    /// <summary>The model's description: hyper-parameters, the parts of every block, the KV cache layout.</summary>
    public ModelSpec Spec => Network.Spec;

    /// <summary>Model name from metadata (or the file name).</summary>
    public string Name => File.Metadata.TryGetString("general.name") ?? System.IO.Path.GetFileNameWithoutExtension(Path);

    /// <summary>
    /// Loads a model. Throws <see cref="ModelLoadException"/> (architecture, tensors, metadata),
    /// <see cref="GgufFormatException"/> (corrupt file) or <see cref="FileNotFoundException"/>.
    /// </summary>
    public static Model Load(string path, ModelOptions? options = null)
    {
        var file = GgufFile.Open(path);
        try
        {
            string arch = file.Metadata.TryGetString("general.architecture") ?? throw new ModelLoadException("general.architecture is missing");
            ModelArchitectures.Find(arch);
            Vocabulary vocabulary;
            try
            {
                vocabulary = Vocabulary.FromGguf(file.Metadata);
            }
            catch (InvalidDataException e)
            {
                throw new ModelLoadException(e.Message, e);
            }
            foreach (var w in vocabulary.Warnings) options?.Warning?.Invoke(w);
            var network = Network.Load(file);
            if (network.Spec.VocabSize != vocabulary.Count)
            {
                network.Dispose();
                throw new ModelLoadException($"the tokenizer has {vocabulary.Count} tokens but token_embd.weight has {network.Spec.VocabSize} rows");
            }
            return new Model(path, file, network, new Tokenizer(vocabulary));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A short fingerprint of the weights (SHA-256 over the tensor table and samples of every tensor's data),
    /// used to refuse restoring cache state saved with another model.
    /// </summary>
    public unsafe string Fingerprint()
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in File.Tensors)
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{t.Name}|{t.Type}|{t.ShapeText};"));
            byte* data = File.GetDataPointer(t);
            long sample = Math.Min(t.ByteSize, 4096);
            sha.AppendData(new ReadOnlySpan<byte>(data, (int)sample));
            if (t.ByteSize > 2 * sample) sha.AppendData(new ReadOnlySpan<byte>(data + t.ByteSize - sample, (int)sample));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose()
    {
        Network.Dispose();
        File.Dispose();
    }
}
