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

    protected override string CancelledMessage => "Cancelled; the layer cache may be partly emptied (what is left is whole).";

    protected override void Run(CancellationToken cancellationToken)
    {
        var (root, bytes) = CacheCleaning.Clear(CacheDirectory, ProjectDirectory);
        Log.LogMessage(MessageImportance.High, $"Nixery.Build: cleared the layer cache {root} ({bytes} bytes).");
    }
}
