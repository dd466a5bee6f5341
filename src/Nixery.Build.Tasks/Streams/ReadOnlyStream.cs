namespace Nixery.Build.Streams;

/// <summary>
/// The shape of the forward-only streams that hand a blob's or a file's bytes on (patched, checked, sliced): read
/// through <see cref="Read(Span{byte})"/>, never written, never sought.
/// </summary>
public abstract class ReadOnlyStream : Stream
{
    public sealed override bool CanRead => true;

    public sealed override bool CanSeek => false;

    public sealed override bool CanWrite => false;

    /// <summary>Bytes handed on so far.</summary>
    protected abstract long BytesRead { get; }

    public sealed override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException();
    }

    public abstract override int Read(Span<byte> buffer);

    public sealed override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public sealed override void Flush()
    {
    }

    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public sealed override void SetLength(long value) => throw new NotSupportedException();

    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
