using Microsoft.Build.Framework;
using Nixery.Build.Cache;

namespace Nixery.Build.Tasks;

/// <summary>Empties the layer cache (the CleanNixImageCache target).</summary>
public sealed class CleanNixImageCache : CancelableNixTask
{
    /// <summary>NixImageCacheDirectory; empty means the default location.</summary>
    public string? CacheDirectory { get; set; }

    [Required]
    public string ProjectDirectory { get; set; } = string.Empty;

    protected override string CancelledMessage => "Cancelled; the layer cache may be partly emptied (what is left is whole).";

    protected override void Run(CancellationToken cancellationToken)
    {
        var cache = new LayerCache(Pipeline.ImageDefaults.CacheDirectory(CacheDirectory, ProjectDirectory));
        var bytes = cache.Blobs.Enumerate().Sum(b => b.Length);
        cache.Clear();
        Log.LogMessage(MessageImportance.High, $"Nixery.Build: cleared the layer cache {cache.Root} ({bytes} bytes).");
    }
}
