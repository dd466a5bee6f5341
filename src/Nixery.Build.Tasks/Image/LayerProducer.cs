using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.LayerFormat;
using Nixery.Build.Nix;
using Nixery.Build.Oci;

namespace Nixery.Build.Image;

/// <summary>
/// Makes the planned layers, in parallel: each one is taken from the layer cache by its key when it is there and
/// sound, otherwise written (tar, hashed, compressed, hashed, in one pass) into the cache.
/// </summary>
public static class LayerProducer
{
    public static IReadOnlyList<LayerBlob> Produce(IReadOnlyList<LayerJob> jobs, LayerCache cache, LayerWriter writer, string layerMediaType, IBuildLog log, CancellationToken cancellationToken)
    {
        var results = new LayerBlob[jobs.Count];
        var made = new CachedLayer[jobs.Count];
        var reused = new bool[jobs.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = System.Environment.ProcessorCount, CancellationToken = cancellationToken };
        try
        {
            Parallel.For(0, jobs.Count, options, i =>
            {
                var job = jobs[i];
                var key = job.Key();
                var layer = cache.TryGet(key, problem => log.Warning(
                    ErrorCodes.CacheEntryDamaged,
                    $"The cached layer '{job.Description}' in {cache.Root} was not usable ({problem}); it is built again. "
                    + "If this repeats, check the disk, or clear the cache with the CleanNixImageCache target."));
                reused[i] = layer is not null;
                if (layer is null)
                {
                    var fresh = cache.Blobs.Add(stream => writer.Write(job.Entries(), stream, cancellationToken), w => w.Digest);
                    layer = new CachedLayer(fresh.Digest, fresh.DiffId, fresh.Size, fresh.UncompressedSize);
                    cache.Put(key, layer);
                }

                made[i] = layer;
                results[i] = new LayerBlob(cache.Blobs.Blob(new Descriptor(layerMediaType, layer.Digest, layer.Size)), layer.DiffId, job.Description);
            });
        }
        catch (AggregateException e)
        {
            // Parallel jobs may all fail (a cache folder that is a file fails every one): report the most telling.
            var inner = e.Flatten().InnerExceptions;
            throw Translate(inner.FirstOrDefault(i => i is NixImageException) ?? inner.FirstOrDefault(i => i is OperationCanceledException) ?? inner[0]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Translate(e);
        }

        // Reported in manifest order (bottom first), not in the order parallel workers finish.
        for (var i = 0; i < jobs.Count; i++)
        {
            log.Info($"  layer {i + 1}/{jobs.Count} {jobs[i].Description} ({jobs[i].Detail}): {NixClient.FormatSize(made[i].UncompressedSize)} → {NixClient.FormatSize(made[i].Size)}, {(reused[i] ? "reused" : "built")}");
        }

        return results;
    }

    private static Exception Translate(Exception e) => e switch
    {
        NixImageException or OperationCanceledException => e,
        IOException or UnauthorizedAccessException => new NixImageException(
            ErrorCodes.WriteFailed,
            $"A layer could not be written to the layer cache: {e.Message} Check free space and permissions of NixImageCacheDirectory's folder, then build again.",
            e),
        _ => e,
    };
}
