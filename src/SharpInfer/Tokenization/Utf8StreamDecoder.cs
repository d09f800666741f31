using System.Text;

namespace SharpInfer.Tokenization;

/// <summary>
/// Turns a stream of token pieces into text without ever emitting half a character: bytes of a UTF-8 sequence
/// that a token boundary cut are held back until the rest arrives. Invalid bytes become U+FFFD.
/// </summary>
public sealed class Utf8StreamDecoder
{
    private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
    private readonly char[] _chars = new char[4096];

    /// <summary>Adds bytes; returns the text that is now complete (possibly empty).</summary>
    public string Push(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return string.Empty;
        var sb = new StringBuilder();
        while (!bytes.IsEmpty)
        {
            int take = Math.Min(bytes.Length, 1024);
            _decoder.Convert(bytes[..take], _chars, flush: false, out int used, out int produced, out _);
            sb.Append(_chars, 0, produced);
            bytes = bytes[used..];
        }
        return sb.ToString();
    }

    /// <summary>
    /// Decodes into a caller buffer (at least <c>bytes.Length + 2</c> chars); returns the number of chars written.
    /// Allocation-free, for the per-token path.
    /// </summary>
    public int Push(ReadOnlySpan<byte> bytes, Span<char> destination)
    {
        if (destination.Length < bytes.Length + 2) throw new ArgumentException("destination needs room for bytes.Length + 2 chars", nameof(destination));
        _decoder.Convert(bytes, destination, flush: false, out _, out int produced, out _);
        return produced;
    }

    /// <summary>Ends the stream: an incomplete trailing sequence becomes U+FFFD.</summary>
    public string Flush()
    {
        _decoder.Convert(ReadOnlySpan<byte>.Empty, _chars, flush: true, out _, out int produced, out _);
        return new string(_chars, 0, produced);
    }

    /// <summary>Forgets any held-back bytes.</summary>
    public void Reset() => _decoder.Reset();
}
