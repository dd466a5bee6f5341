using ICSharpCode.SharpZipLib.GZip;
using SharpCompress.Compressors;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.Xz;
using SharpCompress.Compressors.ZStandard;

namespace Nixery.Build.BinaryCache;

/// <summary>
/// Uncompresses a NAR as a binary cache serves it (a narinfo's <c>Compression</c>): xz (cache.nixos.org), zstd,
/// bzip2 (Nix's default), gzip, or none. xz goes through the system's liblzma where there is one (<see cref="NativeXz"/>),
/// through SharpCompress where not. Everything streams: the compressed bytes are read as the NAR is, a buffer at a
/// time, never the whole NAR.
/// </summary>
/// <remarks>
/// Corrupt or cut-short compressed data is an <see cref="InvalidDataException"/> (the decoder's own exception is its
/// inner exception), and so is a stream that holds no data: no NAR is empty. An exception of the compressed stream
/// itself (a dropped connection) comes through as it is. None of this replaces checking the NAR's SHA-256 and size
/// against the narinfo: Nix writes zstd without a checksum, SharpCompress does not check xz's (liblzma does), and a
/// flipped bit there may decode to other bytes without a word.
/// </remarks>
public static class NarCompression
{
    /// <summary>The <c>Compression</c> values <see cref="Decompress"/> reads; the empty string means none.</summary>
    public static IReadOnlyList<string> Supported { get; } = ["xz", "zstd", "bzip2", "gzip", "none"];

    // Large enough that the decoders' byte-at-a-time reads cost nothing, small enough to stream.
    private const int BufferSize = 64 * 1024;

    /// <summary>Whether <see cref="Decompress"/> reads this <c>Compression</c> value (exact, lower case, as Nix writes it).</summary>
    public static bool IsSupported(string compression) =>
        compression is not null && (compression.Length == 0 || Supported.Contains(compression, StringComparer.Ordinal));

    /// <summary>
    /// A forward-only stream of the NAR inside <paramref name="compressed"/>. The returned stream owns
    /// <paramref name="compressed"/>: disposing it disposes <paramref name="compressed"/> (for <c>none</c> too), so a
    /// caller disposes only the returned stream. <paramref name="compressed"/> need not be seekable.
    /// </summary>
    /// <exception cref="NotSupportedException"><paramref name="compression"/> is not one of <see cref="Supported"/>.</exception>
    public static Stream Decompress(Stream compressed, string compression) => Decompress(compressed, compression, nativeXz: true);

    /// <summary>
    /// The decoder <see cref="Decompress(Stream, string)"/> uses for xz here: liblzma and its version, or SharpCompress.
    /// </summary>
    internal static string XzDecoder(bool nativeXz) =>
        nativeXz && NativeXz.IsAvailable ? $"liblzma {NativeXz.Version}" : "SharpCompress";

    /// <summary>
    /// <see cref="Decompress(Stream, string)"/>, with xz through liblzma where there is one only if
    /// <paramref name="nativeXz"/> (false: SharpCompress, for tests and the benchmark).
    /// </summary>
    internal static Stream Decompress(Stream compressed, string compression, bool nativeXz)
    {
        ArgumentNullException.ThrowIfNull(compressed);
        ArgumentNullException.ThrowIfNull(compression);
        if (!IsSupported(compression))
        {
            throw new NotSupportedException(
                $"The binary cache compresses this NAR with '{compression}', which Nixery.Build cannot uncompress; it reads {string.Join(", ", Supported)}.");
        }

        return new DecompressingStream(new SourceStream(compressed), compression.Length == 0 ? "none" : compression, nativeXz);
    }

    private static Stream OpenDecoder(string compression, SourceStream source, bool nativeXz) => compression switch
    {
        "xz" => (nativeXz ? NativeXz.TryCreate() : null) is { } native ? new NativeXzStream(source, native) : new XZStream(source),
        "zstd" => new DecompressionStream(source, bufferSize: 0, checkEndOfStream: true, leaveOpen: true),
        // SharpCompress rather than SharpZipLib here: it reads the concatenated streams that parallel bzip2 tools write.
        "bzip2" => BZip2Stream.Create(source, CompressionMode.Decompress, decompressConcatenated: true, leaveOpen: true, tolerateTruncatedStream: false),
        // SharpZipLib rather than GZipStream: .NET's reader neither checks the gzip trailer nor notices a cut-short stream.
        "gzip" => new GZipInputStream(source) { IsStreamOwner = false },
        _ => source,
    };

    /// <summary>
    /// The NAR's bytes: opens the decoder on the first read (so a bad header fails as bad data does, on a read),
    /// reads xz streams written one after another as one, and turns decoder failures into <see cref="InvalidDataException"/>.
    /// </summary>
    private sealed class DecompressingStream(SourceStream source, string compression, bool nativeXz) : Nixery.Build.Streams.ReadOnlyStream
    {
        private readonly string _what = compression == "none" ? "The NAR" : $"The {compression}-compressed NAR";
        private Stream? _decoder;
        private long _produced;
        private bool _finished;
        private bool _disposed;

        public override long Length => throw new NotSupportedException();

        protected override long BytesRead => _produced;

        public override int Read(Span<byte> buffer)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (buffer.IsEmpty || _finished)
            {
                return 0;
            }

            int read;
            try
            {
                read = ReadDecoded(buffer);
            }
            catch (Exception e) when (!source.Failed && e is not (OperationCanceledException or OutOfMemoryException or FileNotFoundException or FileLoadException))
            {
                // SharpCompress, SharpZipLib and the BCL throw a dozen types for bad data, IndexOutOfRangeException among them
                // (but a decoder assembly that fails to load is not bad data).
                throw new InvalidDataException($"{_what} is corrupt or cut short: {e.Message}", e);
            }

            if (read == 0)
            {
                _finished = true;
                if (_produced == 0)
                {
                    throw new InvalidDataException($"{_what} holds no data; a NAR is never empty.");
                }
            }

            _produced += read;
            return read;
        }

        private int ReadDecoded(Span<byte> buffer)
        {
            _decoder ??= OpenDecoder(compression, source, nativeXz);
            var read = _decoder.Read(buffer);

            // An xz file may be several xz streams, with null padding between them; SharpCompress reads one (liblzma all).
            while (read == 0 && _decoder is XZStream && source.SkipXzStreamPadding())
            {
                _decoder = new XZStream(source);
                read = _decoder.Read(buffer);
            }

            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                _decoder?.Dispose();
                source.DisposeInner();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// xz through liblzma: decodes straight from the source's buffer into the caller's, taking the input a buffer at
    /// a time as it comes (one read of the compressed stream, not a full buffer, so the NAR streams as it arrives).
    /// </summary>
    private sealed class NativeXzStream(SourceStream source, NativeXz decoder) : Nixery.Build.Streams.ReadOnlyStream
    {
        private long _produced;
        private bool _ended;

        public override long Length => throw new NotSupportedException();

        protected override long BytesRead => _produced;

        public override int Read(Span<byte> buffer)
        {
            while (!_ended && !buffer.IsEmpty)
            {
                // Empty only at the end of the input: then liblzma finishes, and tells a cut-short stream.
                var input = source.Buffered();
                _ended = decoder.Decode(input, finish: input.IsEmpty, buffer, out var consumed, out var produced);
                source.Skip(consumed);
                if (produced > 0)
                {
                    _produced += produced;
                    return produced;
                }
            }

            return 0;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                decoder.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// The compressed stream, buffered (the decoders read a byte at a time), read in full (no short reads), with a
    /// <see cref="Position"/> even when the stream has none (SharpCompress's xz reader aligns to it), and a note of
    /// whether the stream itself failed.
    /// Disposing it does nothing, so a decoder that disposes its input cannot close the stream under the next one.
    /// </summary>
    private sealed class SourceStream(Stream inner) : Nixery.Build.Streams.ReadOnlyStream
    {
        private readonly byte[] _buffer = new byte[BufferSize];
        private int _start;
        private int _end;
        private long _position;
        private bool _endOfInput;

        /// <summary>Whether a read of the compressed stream threw: then the failure is its, not the data's.</summary>
        public bool Failed { get; private set; }

        public override long Length => throw new NotSupportedException();

        protected override long BytesRead => _position;

        /// <summary>
        /// Fills <paramref name="buffer"/> unless the input ends first. SharpCompress's xz reader takes a short read
        /// for the end of the data (a block header split across two network reads fails as "end of stream").
        /// </summary>
        public override int Read(Span<byte> buffer)
        {
            var total = 0;
            while (total < buffer.Length && Fill())
            {
                var count = Math.Min(buffer.Length - total, _end - _start);
                _buffer.AsSpan(_start, count).CopyTo(buffer[total..]);
                _start += count;
                total += count;
            }

            _position += total;
            return total;
        }

        public override int ReadByte()
        {
            if (!Fill())
            {
                return -1;
            }

            _position++;
            return _buffer[_start++];
        }

        /// <summary>The buffered bytes, after one read of the compressed stream if there were none; empty at its end.</summary>
        public ReadOnlySpan<byte> Buffered() => Fill() ? _buffer.AsSpan(_start, _end - _start) : default;

        /// <summary>Passes over the first <paramref name="count"/> of the <see cref="Buffered"/> bytes.</summary>
        public void Skip(int count)
        {
            _start += count;
            _position += count;
        }

        /// <summary>
        /// After an xz stream: skips the null stream padding (a multiple of four bytes) and says whether another
        /// stream follows.
        /// </summary>
        public bool SkipXzStreamPadding()
        {
            var padding = 0;
            while (Fill() && _buffer[_start] == 0)
            {
                _start++;
                _position++;
                padding++;
            }

            if (padding % 4 != 0)
            {
                throw new InvalidDataException($"the padding after an xz stream is {padding} bytes, not a multiple of 4");
            }

            return Fill();
        }

        /// <summary>Makes sure the buffer holds a byte unless the input is at its end.</summary>
        private bool Fill()
        {
            if (_start < _end)
            {
                return true;
            }

            if (_endOfInput)
            {
                return false;
            }

            int read;
            try
            {
                read = inner.Read(_buffer);
            }
            catch
            {
                Failed = true;
                throw;
            }

            _start = 0;
            _end = read;
            _endOfInput = read == 0;
            return read > 0;
        }

        public void DisposeInner() => inner.Dispose();
    }
}
