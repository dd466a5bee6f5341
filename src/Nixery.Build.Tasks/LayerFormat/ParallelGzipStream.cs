using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Nixery.Build.LayerFormat;

/// <summary>
/// gzip in fixed-size chunks compressed in parallel, the way pigz does (<see cref="ParallelChunkStream"/>): each
/// chunk is a raw deflate stream ended with a sync flush (byte-aligned, not final) and the last one is finished, so
/// their concatenation is one valid deflate stream inside one gzip member. Chunks that do not compress
/// (already-compressed or random data) are stored instead of being squeezed for nothing.
/// </summary>
public sealed class ParallelGzipStream : ParallelChunkStream
{
    /// <summary>1 MiB: large enough that starting each chunk without a dictionary costs little ratio.</summary>
    public const int DefaultChunkSize = 1 << 20;

    private const int ProbeSize = 64 << 10;

    private readonly int _level;
    private readonly Crc32 _crc = new();

    public ParallelGzipStream(Stream output, CompressionWorkers workers, int level, int chunkSize = DefaultChunkSize)
        : base(output, workers, chunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(level, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, 9);
        _level = level;

        // RFC 1952 header: no name, no time (0), no extra flags, OS 3 (Unix), as GZipStream writes it on Linux.
        Output.Write([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    }

    protected override void Observe(ReadOnlySpan<byte> data) => _crc.Append(data);

    /// <summary>The gzip trailer: CRC-32 and size.</summary>
    protected override void WriteTrailer(long length)
    {
        Span<byte> trailer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, _crc.GetCurrentHashAsUInt32());
        BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], unchecked((uint)length));
        Output.Write(trailer);
    }

    protected override CompressedChunk CompressChunk(byte[] data, int count, bool final, long streamLength) => Compress(Buffers, data, count, final, _level);

    /// <summary>One chunk as raw deflate; ends with a sync flush unless it is the last (then with the final block).</summary>
    private static CompressedChunk Compress(ChunkBuffers buffers, byte[] data, int count, bool final, int level)
    {
        // Rented output, so the 1 MiB buffers of a big layer are reused instead of piling up on the large object
        // heap; sized for zlib-ng's worst case (its fastest level can grow data by 1/8) plus flush and final blocks,
        // for a full chunk (the input buffer's length) even when this one is shorter, so every output buffer has one size.
        var bytes = buffers.Rent(WorstCase(data.Length));
        try
        {
            var effective = level > 0 && LooksIncompressible(data.AsSpan(0, count)) ? 0 : level;
            using var output = new MemoryStream(bytes, writable: true);
            long flushedLength;
            using (var deflate = new DeflateStream(output, new ZLibCompressionOptions { CompressionLevel = effective }, leaveOpen: true))
            {
                deflate.Write(data, 0, count);
                deflate.Flush();
                flushedLength = output.Position;
            }

            // An empty last chunk still needs a final block; DeflateStream writes nothing when given nothing.
            if (final && output.Position == 0)
            {
                output.Write([0x03, 0x00]);
            }

            // Disposing wrote a final block; a chunk in the middle must end at its sync flush instead.
            var length = final ? (int)output.Position : (int)flushedLength;
            return new CompressedChunk(bytes, length);
        }
        catch
        {
            buffers.Return(bytes);
            throw;
        }
    }

    private static int WorstCase(int count) => count + (count >> 3) + 1024;

    /// <summary>A quick look at the chunk's start: when the fastest level saves under 3%, deflate would not save either.</summary>
    private static bool LooksIncompressible(ReadOnlySpan<byte> data)
    {
        if (data.Length < ProbeSize)
        {
            return false;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(WorstCase(ProbeSize));
        try
        {
            using var probe = new MemoryStream(buffer, writable: true);
            using (var deflate = new DeflateStream(probe, new ZLibCompressionOptions { CompressionLevel = 1 }, leaveOpen: true))
            {
                deflate.Write(data[..ProbeSize]);
            }

            return probe.Position > ProbeSize * 97 / 100;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
