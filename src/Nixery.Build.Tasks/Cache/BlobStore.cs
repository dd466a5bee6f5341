using System.Security.Cryptography;
using Nixery.Build.Oci;
using Nixery.Build.Streams;

namespace Nixery.Build.Cache;

/// <summary>
/// Content-addressed blobs in a folder: <c>sha256/&lt;hex&gt;</c>. A blob is written to a temporary
/// file beside its final place, then renamed: a reader sees a whole blob or none, and a killed build leaves
/// only a temporary file that never counts. Blobs are not forced to disk when written (that wait was a third of
/// an app layer's time): after a power loss one may hold garbage under its name, so the layer cache checks a
/// blob's digest on its first reuse, then forces it to disk (<see cref="FlushToDisk"/>) before trusting its size
/// and time from then on; a blob up to <see cref="VerifiedOnReuseSize"/> is checked on every reuse.
/// </summary>
public sealed class BlobStore
{
    /// <summary>Blobs up to this size have their digest checked whenever they are reused: it costs under a millisecond.</summary>
    public const long VerifiedOnReuseSize = 1 << 20;

    private readonly string _blobs;
    private readonly string _temporary;

    public BlobStore(string root)
    {
        Root = Path.GetFullPath(root);
        _blobs = Path.Combine(Root, "sha256");
        _temporary = Path.Combine(Root, "tmp");
    }

    public string Root { get; }

    public string PathOf(Digest digest) => Path.Combine(_blobs, digest.Hex);

    /// <summary>A stored blob as an image blob: opened afresh, read-only, each time a sink needs its bytes.</summary>
    public ImageBlob Blob(Descriptor descriptor)
    {
        var path = PathOf(descriptor.Digest);
        return new ImageBlob(descriptor, () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan));
    }

    /// <summary>Deletes the temporary files of writes whose build was killed; returns their bytes.</summary>
    public long RemoveAbandonedWrites() => PartialFiles.RemoveAbandoned(_temporary, "*.partial");

    /// <summary>The blobs present (temporary files excluded).</summary>
    public IEnumerable<FileInfo> Enumerate() =>
        Directory.Exists(_blobs) ? new DirectoryInfo(_blobs).EnumerateFiles() : [];

    /// <summary>Whether a blob with this digest and exactly this size is present.</summary>
    public bool Contains(Digest digest, long size)
    {
        var file = new FileInfo(PathOf(digest));
        return file.Exists && file.Length == size;
    }

    /// <summary>Writes a blob through <paramref name="write"/>, which returns what it wrote (including its digest).</summary>
    public T Add<T>(Func<Stream, T> write, Func<T, Digest> digestOf)
    {
        Directory.CreateDirectory(_blobs);
        Directory.CreateDirectory(_temporary);
        var temporary = Path.Combine(_temporary, $"{Guid.NewGuid():N}.partial");
        try
        {
            T result;
            using (var stream = PartialFiles.Create(temporary))
            {
                result = write(stream);
            }

            Commit(temporary, digestOf(result));
            return result;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>
    /// Writes a blob whose digest and size are known beforehand (a download): <paramref name="write"/> returns false
    /// when it had nothing to write. The bytes are hashed on their way to the temporary file and the blob is kept only
    /// when they are the expected ones; otherwise <see cref="InvalidDataException"/>, and nothing is kept.
    /// </summary>
    public async Task<bool> AddAsync(Descriptor expected, Func<Stream, CancellationToken, Task<bool>> write, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_blobs);
        Directory.CreateDirectory(_temporary);
        var temporary = Path.Combine(_temporary, $"{Guid.NewGuid():N}.partial");
        try
        {
            Digest digest;
            long size;
            await using (var file = PartialFiles.Create(temporary))
            await using (var hashing = new HashingStream(file, leaveOpen: true))
            {
                if (!await write(hashing, cancellationToken))
                {
                    return false;
                }

                digest = hashing.CurrentDigest();
                size = hashing.BytesWritten;
            }

            if (digest != expected.Digest || size != expected.Size)
            {
                throw new InvalidDataException($"{size} bytes with digest {digest} came, where {expected.Size} bytes with digest {expected.Digest} were expected.");
            }

            Commit(temporary, digest);
            return true;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>The digest of the stored blob's bytes as they are now (read unbuffered: the hash reads in its own blocks).</summary>
    public Digest DigestOf(Digest digest)
    {
        using var stream = new FileStream(PathOf(digest), FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        return Digest.FromHash(SHA256.HashData(stream));
    }

    /// <summary>Forces a stored blob's bytes to disk (fsync): what a check just confirmed stays true after a power loss.</summary>
    public void FlushToDisk(Digest digest)
    {
        using var stream = new FileStream(PathOf(digest), FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Stores a small in-memory blob (a config or a manifest).</summary>
    public Descriptor AddBytes(string mediaType, byte[] content)
    {
        var digest = Digest.Of(content);
        if (!Contains(digest, content.Length))
        {
            Add(
                stream =>
                {
                    stream.Write(content);
                    return digest;
                },
                d => d);
        }

        return new Descriptor(mediaType, digest, content.Length);
    }

    // rename(2) replaces atomically: a reader holding the old file keeps reading it, and a damaged
    // blob that was there before is healed by the same bytes.
    private void Commit(string temporary, Digest digest) => File.Move(temporary, PathOf(digest), overwrite: true);
}
