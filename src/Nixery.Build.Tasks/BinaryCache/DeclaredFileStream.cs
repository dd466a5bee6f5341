using System.Security.Cryptography;
using Nixery.Build.Nix;
using Nixery.Build.Streams;

namespace Nixery.Build.BinaryCache;

/// <summary>
/// A NAR file as the cache serves it (compressed), held to what its narinfo declares: no more than <c>FileSize</c>
/// bytes (or, where the narinfo gives none, <see cref="UndeclaredLimit"/>), and, once read to its end
/// (<see cref="FinishAsync"/>), exactly <c>FileSize</c> bytes with the SHA-256 <c>FileHash</c> where those are given.
/// Anything else is an <see cref="InvalidDataException"/>; a stream that goes past its limit fails on the read that
/// would pass it, so no more than the limit is ever read.
/// </summary>
public sealed class DeclaredFileStream : ReadOnlyStream
{
    private readonly Stream _inner;
    private readonly long? _size;
    private readonly NarHash? _hash;
    private readonly long _limit;
    private readonly IncrementalHash? _sha256;
    private long _read;

    /// <param name="inner">The file; owned.</param>
    /// <param name="fileSize">The narinfo's <c>FileSize</c>, if any.</param>
    /// <param name="fileHash">The narinfo's <c>FileHash</c>, if any.</param>
    /// <param name="narSize">The narinfo's <c>NarSize</c>, which bounds the file where no FileSize does.</param>
    public DeclaredFileStream(Stream inner, long? fileSize, NarHash? fileHash, long narSize)
    {
        _inner = inner;
        _size = fileSize;
        _hash = fileHash;
        _limit = fileSize ?? UndeclaredLimit(narSize);
        _sha256 = fileHash is null ? null : IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    }

    public override long Length => throw new NotSupportedException();

    protected override long BytesRead => _read;

    /// <summary>
    /// How large a compressed NAR may be without a FileSize: its NarSize, an eighth more (what no compressor adds to
    /// incompressible data), and 1 MiB.
    /// </summary>
    public static long UndeclaredLimit(long narSize) => narSize + (narSize / 8) + (1 << 20);

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        // One byte more than the limit is asked for, so a file that runs past it is noticed without reading further.
        var room = _limit - _read + 1;
        var read = _inner.Read(room < buffer.Length ? buffer[..(int)room] : buffer);
        if (_read + read > _limit)
        {
            throw new InvalidDataException(_size is null
                ? $"the compressed NAR runs past {_limit} bytes, more than its NarSize allows"
                : $"the compressed NAR runs past its FileSize of {_size} bytes");
        }

        _read += read;
        _sha256?.AppendData(buffer[..read]);
        return read;
    }

    /// <summary>Reads what the decompressor left (a trailer, padding) and checks the whole file against FileSize and FileHash.</summary>
    public async Task FinishAsync(CancellationToken cancellationToken)
    {
        if (_size is null && _hash is null)
        {
            return;
        }

        var buffer = new byte[1 << 16];
        while (await ReadAsync(buffer, cancellationToken) > 0)
        {
        }

        if (_size is { } size && _read != size)
        {
            throw new InvalidDataException($"the compressed NAR is {_read} bytes, and its narinfo's FileSize {size}");
        }

        if (_hash is { } hash && _sha256 is not null && NarHash.FromBytes(_sha256.GetHashAndReset()) != hash)
        {
            throw new InvalidDataException("the compressed NAR's SHA-256 is not its narinfo's FileHash");
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
            _sha256?.Dispose();
        }

        base.Dispose(disposing);
    }
}
