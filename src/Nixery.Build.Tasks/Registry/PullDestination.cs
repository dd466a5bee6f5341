namespace Nixery.Build.Registry;

/// <summary>
/// The store's side of a blob download: writes into the store's stream, and turns a failure to write (a full disk,
/// no permission) into <see cref="PullDestinationException"/>, so that it is told apart from a broken connection
/// (which is worth another try; a full disk is not).
/// </summary>
internal sealed class PullDestination(Stream inner) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            await inner.WriteAsync(buffer, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PullDestinationException(e);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
        try
        {
            inner.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PullDestinationException(e);
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>A pulled blob could not be written where it goes (the layer cache): not the registry's fault, and not retried.</summary>
internal sealed class PullDestinationException(Exception inner) : Exception(inner.Message, inner);

/// <summary>A blob download that broke off on the network side (reset, stall, trickle): worth another try.</summary>
internal sealed class PullBrokeOffException(Exception inner) : Exception(inner.Message, inner);
