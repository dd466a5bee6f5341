using Nixery.Build.Cache;
using Nixery.Build.Settings;

namespace Nixery.Build.Pipeline;

/// <summary>The CleanNixImageCache target's work: empty the layer cache.</summary>
public static class CacheCleaning
{
    /// <summary>
    /// Empties the layer cache NixImageCacheDirectory names, or the default one (found by the factory's rule from
    /// XDG_CACHE_HOME and HOME, passed in); returns its folder and the bytes it held, or null when there is no
    /// shared cache to empty (no setting, no XDG_CACHE_HOME, no HOME: layers were kept in each build's own folder).
    /// </summary>
    public static (string Root, long Bytes)? Clear(string? cacheDirectory, string projectDirectory, string? xdgCacheHome, string? home)
    {
        if (ImageRequestFactory.CacheDirectory(cacheDirectory, projectDirectory, xdgCacheHome, home) is not { } root)
        {
            return null;
        }

        var cache = new LayerCache(root);
        var bytes = cache.Blobs.Enumerate().Sum(b => b.Length);
        cache.Clear();
        return (cache.Root, bytes);
    }
}
