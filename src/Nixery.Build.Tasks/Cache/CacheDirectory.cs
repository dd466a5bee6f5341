namespace Nixery.Build.Cache;

/// <summary>
/// The user's cache folder for Nixery.Build (<c>NixImageCacheDirectory</c>): <c>$XDG_CACHE_HOME/nixery-build</c>, else
/// <c>~/.cache/nixery-build</c>. It holds what outlives one project's build (such as which registry repositories
/// hold which blobs); everything in it is a hint that may be deleted at any time.
/// </summary>
public static class CacheDirectory
{
    public const string FolderName = "nixery-build";

    /// <summary>The folder from the property when set (relative to <paramref name="baseDirectory"/>), else the default; null when no home is known.</summary>
    public static string? Resolve(string? property, string baseDirectory, Func<string, string?> environment)
    {
        if (!string.IsNullOrWhiteSpace(property))
        {
            return Path.GetFullPath(property.Trim(), baseDirectory);
        }

        if (environment("XDG_CACHE_HOME") is { Length: > 0 } cache && Path.IsPathRooted(cache))
        {
            return Path.Combine(cache, FolderName);
        }

        return environment("HOME") is { Length: > 0 } home ? Path.Combine(home, ".cache", FolderName) : null;
    }
}
