using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Sinks;
using Nixery.Build.Streams;

namespace Nixery.Build.Pipeline;

/// <summary>What a pipeline run produced: the image (or index), whether it was found up to date, and what each sink did.</summary>
public sealed record ImageBuildResult(ImageArtifact Artifact, bool UpToDate, string SummaryPath, IReadOnlyList<SinkResult> Sinks)
{
    /// <summary>The SBOM documents written beside the summary, one per format and platform.</summary>
    public IReadOnlyList<SbomFile> Sboms { get; init; } = [];

    /// <summary>The image, when the result is one image (not an index of several platforms).</summary>
    public BuiltImage Image => Artifact.IsIndex ? throw new InvalidOperationException("The result is an image index.") : Artifact.Images[0];

    /// <summary>What the tags point at: the image's manifest, or the index.</summary>
    public Digest Digest => Artifact.Digest;

    /// <summary>The archive written or kept, or null when the image went elsewhere only.</summary>
    public string? ArchivePath => Sinks.FirstOrDefault(s => s.Sink == SinkKind.Archive)?.References[0];

    /// <summary>The references the registry sink pushed (registry/repository:tag); empty without one.</summary>
    public IReadOnlyList<string> PushedReferences => Sinks.FirstOrDefault(s => s.Sink == SinkKind.Registry)?.References ?? [];
}

/// <summary>
/// The ending both pipelines share, once the image (or the index) exists: every sink from that one value, told
/// whether its destination is up to date; a stale archive removed; then, unless everything was up to date, the cache
/// pruned and the summary written. A damaged blob a sink finds is thrown to the pipeline, which knows how to repair.
/// </summary>
internal static class ImageDelivery
{
    /// <param name="freshness">What decided whether the image is up to date, and the last build's summary.</param>
    /// <param name="prune">False for one platform of several: the index step knows every platform's blobs and prunes.</param>
    /// <param name="nixReused">Whether the Nix closure was reused; null for an index.</param>
    /// <param name="upToDateMessage">What to say when nothing changed.</param>
    /// <param name="builtMessage">What to say once a new image was delivered (read after the summary is written, so timings include it).</param>
    public static async Task<ImageBuildResult> DeliverAsync(
        ImageRequest request,
        ImageArtifact artifact,
        ImageFreshness freshness,
        IReadOnlyList<IImageSink> sinks,
        LayerCache cache,
        bool prune,
        bool? nixReused,
        IBuildLog log,
        string upToDateMessage,
        Func<string> builtMessage,
        CancellationToken cancellationToken)
    {
        var results = await RunSinksAsync(artifact, sinks, freshness.IsUpToDate, cancellationToken);
        var sboms = SbomFiles.Write(request, artifact);
        if (!request.WriteArchive)
        {
            ArchiveSink.RemoveStale(request.ArchivePath, log);
        }

        var archive = results.FirstOrDefault(r => r.Sink == SinkKind.Archive);
        if (freshness.UpToDate)
        {
            log.Info($"{upToDateMessage}{(archive is null ? string.Empty : ": " + archive.References[0])}");
            if (archive?.Wrote == true)
            {
                // Written again from the cache (it had been deleted or changed): the summary records the new file.
                freshness.Record(request, artifact, sboms, nixReused, cache.Counters);
                log.Info($"Image archive: {archive.References[0]} (written again from the layer cache)");
            }

            return new ImageBuildResult(artifact, UpToDate: true, request.SummaryPath, results) { Sboms = sboms };
        }

        if (prune)
        {
            Prune(cache, request, artifact, log);
        }

        var summaryPath = freshness.Record(request, artifact, sboms, nixReused, cache.Counters);
        log.Info(builtMessage());
        if (archive is not null)
        {
            log.Info($"Image archive: {archive.References[0]}");
        }

        if (sboms.Count > 0)
        {
            log.Info($"SBOMs: {string.Join(", ", sboms.Select(f => f.Path))}");
        }

        return new ImageBuildResult(artifact, UpToDate: false, summaryPath, results) { Sboms = sboms };
    }

    /// <summary>Prunes the layer cache to its size, least recently used first, keeping every blob of <paramref name="artifact"/>.</summary>
    internal static void Prune(LayerCache cache, ImageRequest request, ImageArtifact artifact, IBuildLog log)
    {
        var freed = cache.Prune(request.CacheMaxSize, artifact.AllBlobs.Concat(artifact.ReferrerBlobs).Select(b => b.Descriptor.Digest).ToHashSet());
        if (freed > 0)
        {
            log.Info($"Layer cache {cache.Root}: pruned {NixClient.FormatSize(freed)} of least recently used blobs to stay under {NixClient.FormatSize(request.CacheMaxSize)}");
        }
    }

    /// <summary>
    /// Every sink at once (the push reads the same cached blobs the archive copies; pruning spares them). When one
    /// fails, the others are let to end (their outcome no longer matters) before the run gives up; a damaged blob
    /// is reported first, since the pipeline can repair it.
    /// </summary>
    internal static async Task<IReadOnlyList<SinkResult>> RunSinksAsync(ImageArtifact image, IReadOnlyList<IImageSink> sinks, Func<IImageSink, bool> upToDate, CancellationToken cancellationToken)
    {
        var writing = new List<Task<SinkResult>>();
        foreach (var sink in sinks)
        {
            try
            {
                writing.Add(sink.WriteAsync(image, upToDate(sink), cancellationToken));
            }
            catch (Exception e)
            {
                writing.Add(Task.FromException<SinkResult>(e));
            }
        }

        try
        {
            return await Task.WhenAll(writing);
        }
        catch
        {
            var errors = writing.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).ToList();
            if ((errors.FirstOrDefault(e => e is DamagedBlobException) ?? errors.FirstOrDefault()) is { } first)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
            }

            throw;
        }
    }
}
