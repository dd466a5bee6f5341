using System.Text.Json;
using Nixery.Build.Oci;

namespace Nixery.Build.Cache;

/// <summary>
/// Reads a built image back from the blob store by its manifest digest (through the one reader,
/// <see cref="OciImageReader"/>): an image found up to date is this value, and every sink runs from it. Null when
/// the store no longer holds all of it (pruned, cleared; the manifest and config checked by their digests, layers by
/// their sizes): the image must then be built again.
/// </summary>
public static class CachedImage
{
    /// <param name="referrers">The image's referrers (SBOM artifacts) to read with it, as <see cref="LayerCache.RecordedReferrers"/> lists them; the image is not whole without them.</param>
    public static BuiltImage? Read(BlobStore store, Digest manifestDigest, IReadOnlyList<Descriptor>? referrers = null)
    {
        try
        {
            var blobs = new CheckedBlobs(store);
            var image = OciImageReader.Read(blobs, manifestDigest);
            return referrers is null or { Count: 0 } ? image : image with { Referrers = referrers.Select(r => OciImageReader.ReadReferrer(blobs, r)).ToList() };
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Present with its size. Layer bytes are not read here: every sink checks each blob against its digest as it
    /// copies it (and the pipeline then rebuilds a damaged one), so telling that an image is still whole costs a
    /// stat per layer, not a read.
    /// </summary>
    private sealed class CheckedBlobs(BlobStore store) : IBlobSource
    {
        public ImageBlob? Find(Digest digest, long? size, string mediaType)
        {
            var file = new FileInfo(store.PathOf(digest));
            return file.Exists && (size is not { } expected || file.Length == expected)
                ? store.Blob(new Descriptor(mediaType, digest, file.Length))
                : null;
        }
    }
}
