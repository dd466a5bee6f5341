using Nixery.Build.Cache;

namespace Nixery.Build.Pipeline;

/// <summary>The CleanNixImageCache target's work: empty the layer cache.</summary>
public static class CacheCleaning
{
    /// <summary>Empties the layer cache NixImageCacheDirectory names (or the default one); returns its folder and the bytes it held.</summary>
    public static (string Root, long Bytes) Clear(string? cacheDirectory, string projectDirectory)
    {
        var cache = new LayerCache(ImageDefaults.CacheDirectory(cacheDirectory, projectDirectory));
        var bytes = cache.Blobs.Enumerate().Sum(b => b.Length);
        cache.Clear();
        return (cache.Root, bytes);
    }
}
