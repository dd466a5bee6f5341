namespace Nixery.Build.Registry;

/// <summary>
/// A read-only view of <paramref name="length"/> bytes of a blob from <paramref name="offset"/> — the body of one
/// upload request, opened afresh for every try — that reports how far it has been read (the absolute
/// position in the blob) for progress. Owns and closes the blob stream.
/// </summary>
internal sealed class BlobSlice : Archive.ReadOnlyStream
{
    private readonly Stream _inner;
    private readonly long _offset;
    private readonly long _length;
    private readonly Action<long> _progress;
    private long _read;

    public BlobSlice(Stream inner, long offset, long length, Action<long> progress)
    {
        _inner = inner;
        _offset = offset;
        _length = length;
        _progress = progress;
        if (offset > 0)
        {
            if (inner.CanSeek)
            {
                inner.Seek(offset, SeekOrigin.Begin);
            }
            else
            {
                Skip(inner, offset);
            }
        }
    }

    public override long Length => _length;

    protected override long BytesRead => _read;

    public override int Read(Span<byte> buffer)
    {
        var wanted = (int)Math.Min(buffer.Length, _length - _read);
        if (wanted <= 0)
        {
            return 0;
        }

        var read = _inner.Read(buffer[..wanted]);
        return Advance(read);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var wanted = (int)Math.Min(buffer.Length, _length - _read);
        if (wanted <= 0)
        {
            return 0;
        }

        var read = await _inner.ReadAsync(buffer[..wanted], cancellationToken);
        return Advance(read);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

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
        if (read == 0 && _read < _length)
        {
            throw new IOException($"The blob ended {_length - _read} bytes early: it changed on disk since it was written.");
        }

        _read += read;
        _progress(_offset + _read);
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
                throw new IOException("The blob is shorter than the part already uploaded: it changed on disk since it was written.");
            }

            count -= read;
        }
    }
}
