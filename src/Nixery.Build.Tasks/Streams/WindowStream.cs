namespace Nixery.Build.Streams;

/// <summary>
/// A read-only window of <c>length</c> bytes from <c>offset</c> of another stream, which it owns: a blob inside an
/// archive file, or the part of a blob that one upload request sends. Seekable within the window when the inner
/// stream is. Reports the absolute position reached (offset + bytes read) to an optional progress callback, and
/// an inner stream that ends inside the window is an <see cref="IOException"/> (the file changed since it was
/// written), never a short read taken for the whole.
/// </summary>
public sealed class WindowStream : Stream
{
    private readonly Stream _inner;
    private readonly long _offset;
    private readonly long _length;
    private readonly Action<long>? _progress;
    private long _position;

    public WindowStream(Stream inner, long offset, long length, Action<long>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _inner = inner;
        _offset = offset;
        _length = length;
        _progress = progress;
        if (offset == 0)
        {
            return;
        }

        if (inner.CanSeek)
        {
            inner.Seek(offset, SeekOrigin.Begin);
        }
        else
        {
            Skip(inner, offset);
        }
    }

    public override bool CanRead => true;

    public override bool CanSeek => _inner.CanSeek;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var wanted = (int)Math.Min(buffer.Length, _length - _position);
        return wanted <= 0 ? 0 : Advance(_inner.Read(buffer[..wanted]));
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var wanted = (int)Math.Min(buffer.Length, _length - _position);
        return wanted <= 0 ? 0 : Advance(await _inner.ReadAsync(buffer[..wanted], cancellationToken));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin)
    {
        if (!_inner.CanSeek)
        {
            throw new NotSupportedException();
        }

        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };
        ArgumentOutOfRangeException.ThrowIfNegative(target);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(target, _length);
        _inner.Seek(_offset + target, SeekOrigin.Begin);
        _position = target;
        return target;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Advance(int read)
    {
        if (read == 0 && _position < _length)
        {
            throw new IOException($"The blob ended {_length - _position} bytes early: it changed on disk since it was written.");
        }

        _position += read;
        _progress?.Invoke(_offset + _position);
        return read;
    }

    private static void Skip(Stream stream, long count)
    {
        var buffer = new byte[81920];
        while (count > 0)
        {
            var read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, count));
            if (read == 0)
            {
                throw new IOException("The blob is shorter than the part already read or uploaded: it changed on disk since it was written.");
            }

            count -= read;
        }
    }
}
