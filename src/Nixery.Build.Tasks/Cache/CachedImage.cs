using System.Text.Json;
using Nixery.Build.Archive;
using Nixery.Build.Oci;

namespace Nixery.Build.Cache;

/// <summary>
/// Reads a built image back from the blob store by its manifest digest (through the one reader,
/// <see cref="OciImageReader"/>): an image found up to date is this value, and every sink runs from it. Null when
/// the store no longer holds all of it (pruned, cleared, damaged: sizes checked, and the digests of the documents
/// and of small layers): the image must then be built again.
/// </summary>
public static class CachedImage
{
    public static BuiltImage? Read(BlobStore store, Digest manifestDigest)
    {
        try
        {
            return OciImageReader.Read(new CheckedBlobs(store), manifestDigest);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Present with its size; a small blob also by its digest, as the layer cache checks it on every reuse.</summary>
    private sealed class CheckedBlobs(BlobStore store) : IBlobSource
    {
        public ImageBlob? Find(Digest digest, long? size, string mediaType)
        {
            var file = new FileInfo(store.PathOf(digest));
            if (!file.Exists || (size is { } expected && file.Length != expected))
            {
                return null;
            }

            if (file.Length <= BlobStore.VerifiedOnReuseSize && store.DigestOf(digest) != digest)
            {
                return null;
            }

            return store.Blob(new Descriptor(mediaType, digest, file.Length));
        }
    }
}
