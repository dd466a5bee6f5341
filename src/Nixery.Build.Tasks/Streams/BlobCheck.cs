using System.Security.Cryptography;
using Nixery.Build.Oci;

namespace Nixery.Build.Streams;

/// <summary>A blob whose bytes are not the ones its descriptor names: changed on disk since it was written.</summary>
public sealed class DamagedBlobException(Descriptor descriptor, string found)
    : Exception($"The blob {descriptor.Digest} ({descriptor.Size} bytes) no longer holds its bytes: {found}.")
{
    public Descriptor Descriptor { get; } = descriptor;
}

/// <summary>
/// Checks that a blob's bytes are what its descriptor says, while a sink reads them anyway (so nothing damaged is ever
/// written or pushed, whatever the cache's cheaper checks let through).
/// </summary>
public static class BlobCheck
{
    /// <summary>Reads the whole blob once and throws <see cref="DamagedBlobException"/> unless size and digest match.</summary>
    public static void Verify(ImageBlob blob)
    {
        using var stream = Reading(blob.Open(), blob.Descriptor);
        stream.CopyTo(Stream.Null, 1 << 20);
    }

    /// <summary>
    /// <paramref name="content"/> as it is read, hashed on the way: reading to its end throws
    /// <see cref="DamagedBlobException"/> unless exactly the descriptor's bytes came through.
    /// </summary>
    public static Stream Reading(Stream content, Descriptor descriptor) => new CheckingStream(content, descriptor);

    private sealed class CheckingStream(Stream inner, Descriptor descriptor) : ReadOnlyStream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _read;
        private bool _checked;

        public override long Length => descriptor.Size;

        protected override long BytesRead => _read;

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer);
            if (read > 0)
            {
                _hash.AppendData(buffer[..read]);
                _read += read;
                if (_read > descriptor.Size)
                {
                    throw new DamagedBlobException(descriptor, $"it is longer than {descriptor.Size} bytes");
                }
            }
            else if (!_checked && buffer.Length > 0)
            {
                _checked = true;
                var actual = Digest.FromHash(_hash.GetHashAndReset());
                if (_read != descriptor.Size || actual != descriptor.Digest)
                {
                    throw new DamagedBlobException(descriptor, $"it has {_read} bytes hashing to {actual}");
                }
            }

            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
