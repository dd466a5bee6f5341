using System.Buffers;
using System.Collections.Concurrent;
using SharpCompress.Compressors.ZStandard;
using SharpCompress.Compressors.ZStandard.Unsafe;

namespace Nixery.Build.LayerFormat;

/// <summary>
/// zstd in fixed-size chunks compressed in parallel (<see cref="ParallelChunkStream"/>): each chunk is one
/// independent zstd frame (content size and checksum in it), and frames concatenated are one valid zstd stream
/// (RFC 8878, section 3.1), which every zstd reader decodes whole. A frame's bytes depend only on its chunk and the
/// level, so the stream is the same on any number of cores. The codec is ZstdSharp's managed port of zstd, as
/// SharpCompress carries it (the package already ships SharpCompress for reading NARs).
/// </summary>
public sealed class ParallelZstdStream : ParallelChunkStream
{
    /// <summary>
    /// 2 MiB: on the .NET runtime's files, 4 MiB frames were 1–2% smaller than 1 MiB ones at levels 2–3 (bench/README.md,
    /// "zstd layers"); 2 MiB keeps most of that while at most workers + 1 chunks are in flight.
    /// </summary>
    public const int DefaultChunkSize = 2 << 20;

    /// <summary>The levels allowed here: zstd's ordinary ones (20–22 need far more memory per worker).</summary>
    public const int MaxLevel = 19;

    private readonly int _level;

    // Compression contexts, reused across this stream's chunks: setting one up costs more than a 2 MiB frame at the
    // low levels. A context keeps no data from one frame to the next (each Wrap starts a new frame), so reuse does
    // not change the bytes. At most one per worker; freed with the stream.
    private readonly ConcurrentBag<Compressor> _compressors = [];

    public ParallelZstdStream(Stream output, CompressionWorkers workers, int level, int chunkSize = DefaultChunkSize)
        : base(output, workers, chunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(level, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, MaxLevel);
        _level = level;
    }

    protected override CompressedChunk CompressChunk(byte[] data, int count, bool final, long streamLength)
    {
        if (count == 0 && streamLength > 0)
        {
            // The stream ended on a chunk boundary: its frames are complete, nothing to add.
            return new CompressedChunk([], 0);
        }

        // For a full chunk (the input buffer's length) even when this one is shorter, so every output buffer has one size.
        var bound = Compressor.GetCompressBound(data.Length) + 32;
        var bytes = Buffers.Rent(bound);
        if (!_compressors.TryTake(out var compressor))
        {
            compressor = new Compressor(_level);
            compressor.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        }

        try
        {
            var length = compressor.Wrap(data.AsSpan(0, count), bytes.AsSpan());
            _compressors.Add(compressor);
            return new CompressedChunk(bytes, length);
        }
        catch
        {
            Buffers.Return(bytes);
            compressor.Dispose();
            throw;
        }
    }

    protected override void Dispose(bool disposing)
    {
        // The base waits for every chunk in flight first, so no compressor is in use below.
        base.Dispose(disposing);
        if (disposing)
        {
            while (_compressors.TryTake(out var compressor))
            {
                compressor.Dispose();
            }
        }
    }
}
