namespace SharpInfer.Gguf;

/// <summary>
/// A GGUF file is malformed or uses something this reader does not accept. Carries the byte offset where the
/// problem was found and what was expected there, so a user can tell a truncated download from a bad writer.
/// </summary>
public sealed class GgufFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="offset">Byte offset in the file where the problem was found (-1 when not tied to one place).</param>
    /// <param name="problem">What is wrong.</param>
    /// <param name="expected">What was expected instead.</param>
    public GgufFormatException(long offset, string problem, string expected)
        : base(offset >= 0 ? $"invalid GGUF at byte {offset}: {problem} (expected {expected})" : $"invalid GGUF: {problem} (expected {expected})")
    {
        Offset = offset;
        Problem = problem;
        Expected = expected;
    }

    /// <summary>Byte offset of the problem, or -1.</summary>
    public long Offset { get; }

    /// <summary>What is wrong.</summary>
    public string Problem { get; }

    /// <summary>What was expected.</summary>
    public string Expected { get; }
}
