namespace SharpInfer.Files;

/// <summary>
/// A write-only pass-through that counts what goes through and lets an observer see each write before it reaches the
/// inner stream: to count offsets and padding (the GGUF writer), to stop on a cancellation (output files), to hash a
/// payload as it streams (KV state files).
/// </summary>
internal sealed class ObservedStream(Stream inner, ObservedStream.Observer? observer = null) : Stream
{
    /// <summary>Sees the bytes of one write before they are passed on; may throw to stop the write.</summary>
    public delegate void Observer(ReadOnlySpan<byte> data);

    /// <summary>Bytes written through this stream.</summary>
    public long Written { get; private set; }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Written;
    public override long Position { get => Written; set => throw new NotSupportedException(); }
    public override void Flush() => inner.Flush();
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        observer?.Invoke(buffer);
        inner.Write(buffer);
        Written += buffer.Length;
    }

    public override void WriteByte(byte value) => Write([value]);

    /// <summary>An observer that throws <see cref="OperationCanceledException"/> once <paramref name="cancellation"/> is cancelled.</summary>
    public static Observer? Cancelling(CancellationToken cancellation) =>
        cancellation.CanBeCanceled ? _ => cancellation.ThrowIfCancellationRequested() : null;
}
