using Microsoft.Build.Framework;
using Nixery.Build.Cache;

namespace Nixery.Build.Tasks;

/// <summary>Empties the layer cache (the CleanNixImageCache target).</summary>
public sealed class CleanNixImageCache : Microsoft.Build.Utilities.Task
{
    /// <summary>NixImageCacheDirectory; empty means the default location.</summary>
    public string? CacheDirectory { get; set; }

    [Required]
    public string ProjectDirectory { get; set; } = string.Empty;

    public override bool Execute()
    {
        var cache = new LayerCache(Pipeline.ImageDefaults.CacheDirectory(CacheDirectory, ProjectDirectory));
        var bytes = cache.Blobs.Enumerate().Sum(b => b.Length);
        cache.Clear();
        Log.LogMessage(MessageImportance.High, $"Nixery.Build: cleared the layer cache {cache.Root} ({bytes} bytes).");
        return true;
    }
}
