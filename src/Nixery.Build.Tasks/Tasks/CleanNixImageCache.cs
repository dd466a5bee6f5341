using Microsoft.Build.Framework;
using Nixery.Build.Pipeline;

namespace Nixery.Build.Tasks;

/// <summary>Empties the layer cache (the CleanNixImageCache target).</summary>
public sealed class CleanNixImageCache : CancelableNixTask
{
    /// <summary>NixImageCacheDirectory; empty means the default location.</summary>
    public string? CacheDirectory { get; set; }

    [Required]
    public string ProjectDirectory { get; set; } = string.Empty;

    /// <summary>XDG_CACHE_HOME, as the build sees it.</summary>
    public string? XdgCacheHome { get; set; }

    /// <summary>HOME, as the build sees it.</summary>
    public string? HomeDirectory { get; set; }

    protected override string CancelledMessage => "Cancelled; the layer cache may be partly emptied (what is left is whole).";

    protected override void Run(CancellationToken cancellationToken)
    {
        if (CacheCleaning.Clear(CacheDirectory, ProjectDirectory, XdgCacheHome, HomeDirectory) is { } cleared)
        {
            Log.LogMessage(MessageImportance.High, $"Nixery.Build: cleared the layer cache {cleared.Root} ({cleared.Bytes} bytes).");
        }
        else
        {
            Log.LogMessage(MessageImportance.High, "Nixery.Build: no shared layer cache to clear (NixImageCacheDirectory, XDG_CACHE_HOME and HOME are all unset); each build keeps its layers in its obj folder.");
        }
    }
}
