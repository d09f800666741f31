using System.Text.RegularExpressions;

namespace SharpInfer.Hub;

/// <summary>
/// A model named the Hugging Face way: <c>owner/repo</c> (the repository's one GGUF file), <c>owner/repo:file.gguf</c>
/// or <c>owner/repo/path/file.gguf</c>.
/// </summary>
public sealed partial record ModelReference(string Owner, string Repository, string? FileName)
{
    /// <summary>The repository id, <c>owner/repo</c>.</summary>
    public string RepoId => $"{Owner}/{Repository}";

    /// <summary>Parses <paramref name="text"/>; false when it is not such a name (a file path, a URL).</summary>
    public static bool TryParse(string text, out ModelReference? reference)
    {
        reference = null;
        if (string.IsNullOrWhiteSpace(text) || text.Contains("://", StringComparison.Ordinal) || text.StartsWith('/') || text.StartsWith('.')) return false;
        string? file = null;
        string repo = text;
        int colon = text.IndexOf(':');
        if (colon >= 0)
        {
            repo = text[..colon];
            file = text[(colon + 1)..];
            if (!IsRelativePath(file)) return false;
        }
        var parts = repo.Split('/');
        if (parts.Length < 2 || !IsName(parts[0]) || !IsName(parts[1])) return false;
        if (parts.Length > 2)
        {
            if (file is not null) return false;
            file = string.Join('/', parts[2..]);
            if (!IsRelativePath(file)) return false;
        }
        reference = new ModelReference(parts[0], parts[1], file);
        return true;
    }

    /// <summary>As <see cref="TryParse"/>, throwing <see cref="ArgumentException"/> with the accepted forms.</summary>
    public static ModelReference Parse(string text) => TryParse(text, out var r) ? r! :
        throw new ArgumentException($"'{Files.SafeText.Line(text)}' is not a model name: give owner/repo, owner/repo:FILE.gguf or owner/repo/FILE.gguf (or --url URL)");

    /// <inheritdoc />
    public override string ToString() => FileName is null ? RepoId : $"{RepoId}:{FileName}";

    private static bool IsName(string part) => NamePattern().IsMatch(part) && part is not ("." or "..");

    /// <summary>A relative path of non-empty parts with no <c>.</c>, <c>..</c>, backslash or control character.</summary>
    internal static bool IsRelativePath(string path) =>
        path.Length > 0 && !path.StartsWith('/') && !path.Contains('\\') && path.Split('/').All(p => p.Length > 0 && p is not ("." or "..") && !p.Any(char.IsControl));

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")]
    private static partial Regex NamePattern();
}
