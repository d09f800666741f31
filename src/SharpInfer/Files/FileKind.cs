namespace SharpInfer.Files;

/// <summary>
/// A kind of file SharpInfer writes, recognised by the bytes it starts with. <see cref="OutputFile"/> replaces an
/// existing file only when it is of the kind being written, so an output path that names a model, a document or
/// anything else of the user's is refused instead of overwritten.
/// </summary>
public sealed class FileKind
{
    private readonly byte[] _magic;

    /// <summary>Creates a kind from its name (as messages show it) and its leading bytes.</summary>
    public FileKind(string name, ReadOnlySpan<byte> magic)
    {
        if (magic.IsEmpty) throw new ArgumentException("a file kind needs leading bytes to be recognised by", nameof(magic));
        Name = name;
        _magic = magic.ToArray();
    }

    /// <summary>What messages call a file of this kind (e.g. "GGUF model").</summary>
    public string Name { get; }

    /// <summary>The bytes every file of this kind starts with.</summary>
    public ReadOnlySpan<byte> Magic => _magic;

    /// <summary>Whether <paramref name="header"/> (the first bytes of a file) starts like a file of this kind.</summary>
    public bool Matches(ReadOnlySpan<byte> header) => header.StartsWith(_magic);

    /// <summary>Whether the file at <paramref name="path"/> starts like a file of this kind.</summary>
    public bool Recognises(string path)
    {
        Span<byte> header = stackalloc byte[_magic.Length];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1);
        int read = 0;
        while (read < header.Length)
        {
            int n = stream.Read(header[read..]);
            if (n == 0) return false;
            read += n;
        }
        return Matches(header);
    }
}
