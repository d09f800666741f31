namespace SharpInfer.Tokenization;

/// <summary>
/// GPT-2's reversible byte ↔ character mapping for byte-level BPE: printable Latin-1 bytes map to themselves,
/// the other 68 bytes to U+0100 onwards, so every byte string becomes visible text with no spaces or controls.
/// </summary>
internal static class ByteLevelCodec
{
    private static readonly char[] ByteToChar = new char[256];
    private static readonly short[] CharToByte = new short[512];

    static ByteLevelCodec()
    {
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= 0x21 and <= 0x7E or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            ByteToChar[b] = printable ? (char)b : (char)(256 + next++);
            CharToByte[ByteToChar[b]] = (short)(b + 1);
        }
    }

    /// <summary>The character standing for a byte.</summary>
    public static char Encode(byte b) => ByteToChar[b];

    /// <summary>The byte a character stands for, if it is one of the 256.</summary>
    public static bool TryDecode(char c, out byte b)
    {
        // Every byte character is below U+0200; the table holds byte + 1, and 0 for characters that stand for none.
        int entry = c < CharToByte.Length ? CharToByte[c] : 0;
        b = (byte)(entry - 1);
        return entry != 0;
    }

    /// <summary>Maps UTF-8 bytes to their byte-level characters.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        return string.Create(bytes.Length, bytes.ToArray(), static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++) span[i] = ByteToChar[source[i]];
        });
    }
}
