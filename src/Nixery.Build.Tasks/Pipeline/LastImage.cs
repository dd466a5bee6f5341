using Nixery.Build.Cache;
using Nixery.Build.Oci;

namespace Nixery.Build.Pipeline;

/// <summary>
/// The image the last build made, as its digest file (written by the image target) names it, read back from the
/// layer cache: what a push of an up-to-date image sends when no archive was written.
/// </summary>
public static class LastImage
{
    /// <summary>The image, or null when there is no digest file or the cache no longer holds all of the image.</summary>
    public static BuiltImage? FromCache(string cacheDirectory, string digestFile)
    {
        if (!File.Exists(digestFile) || !Digest.TryParse(File.ReadAllText(digestFile).Trim(), out var digest))
        {
            return null;
        }

        return CachedImage.Read(new BlobStore(cacheDirectory), digest);
    }
}
