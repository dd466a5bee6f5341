using System.Collections.Concurrent;

namespace Nixery.Build.LayerFormat;

/// <summary>
/// A write-only stream that cuts what it is given into fixed-size chunks, compresses them in parallel on
/// <see cref="CompressionWorkers"/> and writes the results in order: the part every chunked codec shares
/// (<see cref="ParallelGzipStream"/>, <see cref="ParallelZstdStream"/>). Chunk boundaries depend only on the byte
/// count and each chunk is compressed on its own, so the output is the same however many threads there are and however
/// they run. Compressed chunks are written by a thread of the stream's own, so hashing and writing them overlaps with
/// the caller producing the next ones. A chunk holds one of the workers' in-flight slots from its submission until its
/// compressed bytes are written (<see cref="CompressionWorkers.InFlightLimit"/>, shared by every layer written at
/// once), so memory grows neither with the layer nor with the number of layers written in parallel. A stream that never fills its first chunk (an app layer, the symlink layer) starts no thread at all: its
/// one chunk is compressed on the caller's thread, to the same bytes.
/// </summary>
public abstract class ParallelChunkStream : Stream
{
    private readonly Stream _output;
    private readonly CompressionWorkers _workers;
    private readonly int _chunkSize;
    private readonly BlockingCollection<Task<CompressedChunk>> _pending;
    private Thread? _writer;
    private volatile Exception? _writerError;
    private byte[] _chunk;
    private int _filled;
    private long _length;
    private bool _finished;
    private bool _failed;

    protected ParallelChunkStream(Stream output, CompressionWorkers workers, int chunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        _output = output;
        _workers = workers;
        _chunkSize = chunkSize;
        _pending = new BlockingCollection<Task<CompressedChunk>>();
        _chunk = workers.Buffers.Rent(chunkSize);
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

    /// <summary>The stream compressed into (left open).</summary>
    protected Stream Output => _output;

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

    /// <summary>Compresses what is left, then writes the codec's trailer (<see cref="WriteTrailer"/>).</summary>
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

            WriteTrailer(_length);
        });
        _finished = true;
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>The workers' buffers, which a chunk's compressed bytes are rented from (<see cref="CompressedChunk"/>).</summary>
    protected ChunkBuffers Buffers => _workers.Buffers;

    /// <summary>A compressed chunk in a buffer rented from <see cref="Buffers"/>, returned once written.</summary>
    protected readonly record struct CompressedChunk(byte[] Bytes, int Length);

    /// <summary>
    /// Compresses one chunk, on a worker thread (or the caller's, for a stream of one chunk). Must not keep
    /// <paramref name="data"/>, and must depend on nothing but its arguments.
    /// </summary>
    /// <param name="data">The chunk's bytes (the first <paramref name="count"/>).</param>
    /// <param name="final">Whether it is the last chunk (it may be empty).</param>
    /// <param name="streamLength">Bytes written before this chunk: zero for the first.</param>
    protected abstract CompressedChunk CompressChunk(byte[] data, int count, bool final, long streamLength);

    /// <summary>Sees each chunk's uncompressed bytes in order, on the caller's thread (a running checksum).</summary>
    protected virtual void Observe(ReadOnlySpan<byte> data)
    {
    }

    /// <summary>Writes what follows the last chunk into <see cref="Output"/>, given the uncompressed length.</summary>
    protected virtual void WriteTrailer(long length)
    {
    }

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

                _workers.Buffers.Return(chunk.Bytes);
            }
            catch (Exception e)
            {
                // Keep draining (the chunks hold pooled buffers and slots); the producer sees the error at its next chunk.
                _writerError ??= e;
            }
            finally
            {
                _workers.ReleaseSlot();
            }
        }
    }

    private void Submit(bool final)
    {
        Guarded(() =>
        {
            var data = _chunk;
            var count = _filled;
            var before = _length;
            Observe(data.AsSpan(0, count));
            _length += count;
            if (_writerError is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_writerError);
            }

            if (final && _writer is null)
            {
                // The whole stream is this one chunk: threads would cost more than they save.
                var only = CompressAndReturn(data, count, final, before);
                try
                {
                    _output.Write(only.Bytes.AsSpan(0, only.Length));
                }
                finally
                {
                    _workers.Buffers.Return(only.Bytes);
                }

                _chunk = [];
                _filled = 0;
                return;
            }

            if (_writer is null)
            {
                _writer = new Thread(WriteChunks) { IsBackground = true, Name = "nixery-layer-writer" };
                _writer.Start();
            }

            // Blocks while the build's chunks in flight are at the workers' limit: memory stays bounded.
            _workers.WaitForSlot();
            try
            {
                _pending.Add(_workers.Run(() => CompressAndReturn(data, count, final, before)));
            }
            catch
            {
                _workers.ReleaseSlot();
                throw;
            }

            _chunk = final ? [] : _workers.Buffers.Rent(_chunkSize);
            _filled = 0;
        });
    }

    /// <summary>Compresses a chunk and gives its input buffer back to the pool, whatever happens.</summary>
    private CompressedChunk CompressAndReturn(byte[] data, int count, bool final, long streamLength)
    {
        try
        {
            return CompressChunk(data, count, final, streamLength);
        }
        finally
        {
            _workers.Buffers.Return(data);
        }
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
}
