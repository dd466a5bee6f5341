using Nixery.Build.LayerFormat;

namespace Nixery.Build.Layers;

/// <summary>
/// Store paths as they sit in the store: <c>nix/</c> and <c>nix/store/</c> first, then each path
/// (ordinal order) with the modes Nix gave it, read from <paramref name="store"/> (on disk, or NARs). Nix normalises
/// owners, times and modes already.
/// </summary>
public static class StoreLayer
{
    public static IEnumerable<LayerEntry> Entries(IEnumerable<string> storePaths, IStoreView store)
    {
        var sorted = storePaths.Order(StringComparer.Ordinal).ToList();
        if (sorted.Count == 0)
        {
            yield break;
        }

        // The store folder itself (normally /nix/store) and its parents.
        var storeDirectory = sorted[0][..sorted[0].LastIndexOf('/')].Trim('/');
        var parts = storeDirectory.Split('/');
        for (var i = 1; i <= parts.Length; i++)
        {
            yield return new DirectoryEntry(string.Join('/', parts[..i]), UnixModes.Executable);
        }

        foreach (var path in sorted)
        {
            foreach (var entry in store.Entries(path))
            {
                yield return entry;
            }
        }
    }
}
