using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Compression;
using System.IO.Hashing;

namespace Nixery.Build.LayerFormat;

/// <summary>
/// A write-only stream that gzips what it is given in fixed-size chunks compressed in parallel, the way pigz
/// does: each chunk is a raw deflate stream ended with a sync flush (byte-aligned, not final) and the last one
/// is finished, so their concatenation is one valid deflate stream inside one gzip member. Chunk boundaries
/// depend only on the byte count, so the output is the same however the threads run. Chunks that do not
/// compress (already-compressed or random data) are stored instead of being squeezed for nothing.
/// Compressed chunks are written to the output, in order, by a thread of the stream's own, so hashing and
/// writing them overlaps with the caller producing the next ones. At most a few chunks are in flight: memory
/// does not grow with the layer. A stream that never fills its first chunk (an app layer, the symlink layer)
/// starts no thread at all: its one chunk is compressed on the caller's thread, to the same bytes.
/// </summary>
public sealed class ParallelGzipStream : Stream
{
    /// <summary>1 MiB: large enough that starting each chunk without a dictionary costs little ratio.</summary>
    public const int DefaultChunkSize = 1 << 20;

    private const int ProbeSize = 64 << 10;

    private readonly Stream _output;
    private readonly CompressionWorkers _workers;
    private readonly int _level;
    private readonly int _chunkSize;
    private readonly int _maxInFlight;
    private readonly BlockingCollection<Task<CompressedChunk>> _pending;
    private Thread? _writer;
    private readonly Crc32 _crc = new();
    private volatile Exception? _writerError;
    private byte[] _chunk;
    private int _filled;
    private long _length;
    private bool _finished;
    private bool _failed;

    public ParallelGzipStream(Stream output, CompressionWorkers workers, int level, int chunkSize = DefaultChunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(level, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(level, 9);
        _output = output;
        _workers = workers;
        _level = level;
        _chunkSize = chunkSize;
        _maxInFlight = 2 * workers.Count;
        _pending = new BlockingCollection<Task<CompressedChunk>>(_maxInFlight);
        _chunk = ArrayPool<byte>.Shared.Rent(chunkSize);

        // RFC 1952 header: no name, no time (0), no extra flags, OS 3 (Unix), as GZipStream writes it on Linux.
        _output.Write([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        while (buffer.Length > 0)
        {
            var take = Math.Min(buffer.Length, _chunkSize - _filled);
            buffer[..take].CopyTo(_chunk.AsSpan(_filled));
            _filled += take;
            buffer = buffer[take..];
            if (_filled == _chunkSize)
            {
                Submit(final: false);
            }
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    /// <summary>Compresses what is left, writes the final block and the gzip trailer (CRC-32, size).</summary>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }

        Guarded(() =>
        {
            Submit(final: true);
            StopWriter();
            if (_writerError is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_writerError);
            }

            Span<byte> trailer = stackalloc byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(trailer, _crc.GetCurrentHashAsUInt32());
            BinaryPrimitives.WriteUInt32LittleEndian(trailer[4..], unchecked((uint)_length));
            _output.Write(trailer);
        });
        _finished = true;
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (!_failed)
            {
                Finish();
            }

            StopWriter();
            _pending.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>No more chunks: let the writer drain what is queued and end.</summary>
    private void StopWriter()
    {
        if (!_pending.IsAddingCompleted)
        {
            _pending.CompleteAdding();
        }

        _writer?.Join();
    }

    private void WriteChunks()
    {
        foreach (var task in _pending.GetConsumingEnumerable())
        {
            try
            {
                var chunk = task.GetAwaiter().GetResult();
                if (_writerError is null)
                {
                    _output.Write(chunk.Bytes.AsSpan(0, chunk.Length));
                }

                ArrayPool<byte>.Shared.Return(chunk.Bytes);
            }
            catch (Exception e)
            {
                // Keep draining (the chunks hold pooled buffers); the producer sees the error at its next chunk.
                _writerError ??= e;
            }
        }
    }

    private void Submit(bool final)
    {
        Guarded(() =>
        {
            var data = _chunk;
            var count = _filled;
            _crc.Append(data.AsSpan(0, count));
            _length += count;
            if (_writerError is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_writerError);
            }

            if (final && _writer is null)
            {
                // The whole stream is this one chunk: threads would cost more than they save.
                var only = Compress(data, count, final, _level);
                try
                {
                    _output.Write(only.Bytes.AsSpan(0, only.Length));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(only.Bytes);
                }

                _chunk = [];
                _filled = 0;
                return;
            }

            if (_writer is null)
            {
                _writer = new Thread(WriteChunks) { IsBackground = true, Name = "nixery-gzip-writer" };
                _writer.Start();
            }

            // Blocks while the writer is _maxInFlight chunks behind: memory stays bounded.
            _pending.Add(_workers.Run(() => Compress(data, count, final, _level)));
            _chunk = final ? [] : ArrayPool<byte>.Shared.Rent(_chunkSize);
            _filled = 0;
        });
    }

    private void Guarded(Action action)
    {
        try
        {
            action();
        }
        catch
        {
            _failed = true;
            throw;
        }
    }

    private readonly record struct CompressedChunk(byte[] Bytes, int Length);

    /// <summary>One chunk as raw deflate; ends with a sync flush unless it is the last (then with the final block).</summary>
    private static CompressedChunk Compress(byte[] data, int count, bool final, int level)
    {
        // Pooled output, so the 1 MiB buffers of a big layer are reused instead of piling up on the large object
        // heap; sized for zlib-ng's worst case (its fastest level can grow data by 1/8) plus flush and final blocks.
        var bytes = ArrayPool<byte>.Shared.Rent(WorstCase(count));
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
            ArrayPool<byte>.Shared.Return(bytes);
            throw;
        }
        finally
        {
            if (data.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(data);
            }
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
