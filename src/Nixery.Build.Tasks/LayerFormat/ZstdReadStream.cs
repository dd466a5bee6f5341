using Nixery.Build.Streams;
using SharpCompress.Compressors.ZStandard;

namespace Nixery.Build.LayerFormat;

/// <summary>
/// The tar inside a zstd layer (any number of frames, as <see cref="ParallelZstdStream"/> or another tool wrote it),
/// read forward. Bad or cut-short zstd data is an <see cref="InvalidDataException"/> (the decoder's own exception is
/// its inner exception), as a bad gzip layer is. Disposing it disposes the compressed stream.
/// </summary>
public sealed class ZstdReadStream(Stream compressed) : ReadOnlyStream
{
    private readonly DecompressionStream _decoder = new(compressed, bufferSize: 0, checkEndOfStream: true, leaveOpen: false);
    private long _read;

    public override long Length => throw new NotSupportedException();

    protected override long BytesRead => _read;

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            read = _decoder.Read(buffer);
        }
        catch (Exception e) when (e is not (IOException or OperationCanceledException or OutOfMemoryException or InvalidDataException))
        {
            throw new InvalidDataException($"The zstd layer is corrupt or cut short: {e.Message}", e);
        }

        _read += read;
        return read;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _decoder.Dispose();
        }

        base.Dispose(disposing);
    }
}
