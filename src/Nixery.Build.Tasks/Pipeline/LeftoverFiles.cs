using Nixery.Build.Cache;
using Nixery.Build.Settings;
using Nixery.Build.Streams;

namespace Nixery.Build.Pipeline;

/// <summary>
/// Removes what killed builds left: the temporary files of writes that never finished, in the layer cache, beside
/// the archive and in the build's own folder. Done at the start of every image step, up to date or not, so a
/// publish after a killed one leaves nothing behind even when it has nothing to build.
/// </summary>
public static class LeftoverFiles
{
    public static void Remove(ImageRequest request)
    {
        new LayerCache(request.LayerCacheDirectory).RemoveAbandonedWrites();
        foreach (var output in new[] { request.ArchivePath, request.SummaryPath })
        {
            PartialFiles.RemoveAbandoned(Path.GetDirectoryName(Path.GetFullPath(output))!, $".{Path.GetFileName(output)}.*.partial");
        }

        PartialFiles.RemoveAbandoned(request.IntermediateDirectory, ".*.partial");
    }
}
