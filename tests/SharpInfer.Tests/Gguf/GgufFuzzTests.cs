using SharpInfer.Gguf;

namespace SharpInfer.Tests.Gguf;

/// <summary>
/// Mutates the bytes of real files thousands of times (flips, overwrites with boundary values, truncations,
/// splices) and parses each result: the reader may accept or refuse, but only <see cref="GgufFormatException"/>
/// may ever escape.
/// </summary>
public class GgufFuzzTests
{
    [Theory]
    [InlineData("models/stories260K.gguf", 1, 2500)]
    [InlineData("models/synthetic/synth-llama-Q4_K_S.gguf", 2, 1500)]
    [InlineData("vocab/ggml-vocab-llama-spm.gguf", 3, 400)]
    public void OnlyOurExceptionEscapes(string relative, int seed, int iterations)
    {
        var original = File.ReadAllBytes(SharedData.File(relative));
        long headerEnd;
        using (var f = GgufFile.FromBytes(original)) headerEnd = Math.Min(f.DataOffset + 64, original.Length);
        var random = new Random(seed);
        int accepted = 0, refused = 0;
        var buffer = new byte[original.Length];
        for (int i = 0; i < iterations; i++)
        {
            Buffer.BlockCopy(original, 0, buffer, 0, original.Length);
            byte[] mutated = Mutate(buffer, (int)headerEnd, random);
            try
            {
                using var file = GgufFile.FromBytes(mutated);
                foreach (var t in file.Tensors) Assert.True(file.DataOffset + t.Offset + t.ByteSize <= file.FileSize);
                accepted++;
            }
            catch (GgufFormatException)
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"iteration {i} of {relative}: {e.GetType().Name} escaped: {e.Message}");
            }
        }
        Assert.True(refused > iterations / 10, $"only {refused} of {iterations} mutations were refused");
        Assert.True(accepted > 0);
    }

    private static byte[] Mutate(byte[] bytes, int headerEnd, Random random)
    {
        int kind = random.Next(6);
        switch (kind)
        {
            case 0: // truncate anywhere in the header
                return bytes[..random.Next(headerEnd)];
            case 1: // overwrite an 8-byte field with a boundary value
            {
                int at = random.Next(Math.Max(1, headerEnd - 8));
                ulong[] values = [0, 1, 31, 33, 0xFF, 0xFFFF, 0xFFFFFFFF, 0x7FFFFFFF, ulong.MaxValue, 1UL << 63, 1UL << 40, 4096];
                BitConverter.TryWriteBytes(bytes.AsSpan(at), values[random.Next(values.Length)]);
                return bytes;
            }
            case 2: // overwrite a 4-byte field (types, dimension counts)
            {
                int at = random.Next(Math.Max(1, headerEnd - 4));
                BitConverter.TryWriteBytes(bytes.AsSpan(at), (uint)random.Next(-2, 50));
                return bytes;
            }
            case 3: // splice: drop a run of bytes from the header
            {
                int at = random.Next(headerEnd);
                int len = random.Next(1, 64);
                return [.. bytes.AsSpan(0, at), .. bytes.AsSpan(Math.Min(bytes.Length, at + len))];
            }
            default: // random byte flips
            {
                int flips = random.Next(1, 9);
                for (int j = 0; j < flips; j++) bytes[random.Next(headerEnd)] ^= (byte)(1 << random.Next(8));
                return bytes;
            }
        }
    }
}
