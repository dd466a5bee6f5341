using Nixery.Build.Archive;
using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Oci;

namespace Nixery.Build.Pipeline;

/// <summary>What a pipeline run produced: the image (or index), whether it was found up to date, and what each sink did.</summary>
public sealed record ImageBuildResult(ImageArtifact Artifact, bool UpToDate, string SummaryPath, IReadOnlyList<SinkResult> Sinks)
{
    /// <summary>The image, when the result is one image (not an index of several platforms).</summary>
    public BuiltImage Image => Artifact.IsIndex ? throw new InvalidOperationException("The result is an image index.") : Artifact.Images[0];

    /// <summary>What the tags point at: the image's manifest, or the index.</summary>
    public Digest Digest => Artifact.Digest;

    /// <summary>The archive written or kept, or null when the image went elsewhere only.</summary>
    public string? ArchivePath => Sinks.FirstOrDefault(s => s.Sink == "archive")?.References[0];

    /// <summary>The references the registry sink pushed (registry/repository:tag); empty without one.</summary>
    public IReadOnlyList<string> PushedReferences => Sinks.FirstOrDefault(s => s.Sink == "registry")?.References ?? [];
}

/// <summary>
/// The one image pipeline. It decides once whether the image is up to date (the summary's inputs, and the image
/// whole in the layer cache); if not, it gets the closure, plans the layers, builds or reuses each, and writes
/// the config and manifest. Then every sink runs from that same image value. The closure source and the clock are
/// passed in, so tests run it with a fake closure and an in-process registry. The MSBuild task is a thin adapter.
/// </summary>
public sealed class ImagePipeline
{
    private readonly IBuildLog _log;
    private readonly IClosureSource _closures;
    private readonly TimeProvider _clock;
    private readonly IBaseImageSource? _bases;

    private readonly bool _pruneCache;

    /// <param name="pruneCache">
    /// False for one platform of a multi-platform publish: pruning keeps only the blobs of the image at hand, so it is
    /// left to the index step, which knows every platform's.
    /// </param>
    /// <param name="bases">Where a request's ContainerBaseImage comes from; needed only for requests that name one.</param>
    public ImagePipeline(IBuildLog log, IClosureSource closures, TimeProvider? clock = null, bool pruneCache = true, IBaseImageSource? bases = null)
    {
        _log = log;
        _closures = closures;
        _bases = bases;
        _clock = clock ?? TimeProvider.System;
        _pruneCache = pruneCache;
    }

    /// <param name="requestFileBytes">The request file the request was read from, when there is one: what "up to date" hashes (no serialising again).</param>
    public Task<ImageBuildResult> RunAsync(ImageRequest request, IReadOnlyList<IImageSink> sinks, CancellationToken cancellationToken, byte[]? requestFileBytes = null) =>
        RunAsync(request, requestFileBytes, sinks, repairing: false, cancellationToken);

    /// <param name="repairing">True on the second try, after a damaged cached blob was removed: a second damaged blob is an error.</param>
    private async Task<ImageBuildResult> RunAsync(ImageRequest request, byte[]? requestFileBytes, IReadOnlyList<IImageSink> sinks, bool repairing, CancellationToken cancellationToken)
    {
        var started = _clock.GetTimestamp();
        ImageRequestChecks.Validate(request);
        if (PublishFolder.SpecialFiles(request.PublishDirectory) is { Count: > 0 } special)
        {
            _log.Warning(
                ErrorCodes.SpecialFileSkipped,
                $"The publish folder holds {string.Join(", ", special)}: not a regular file, folder or symlink (a FIFO, socket or device), so it is left out of the image. "
                + "Remove it from the publish output.");
        }

        var cache = new LayerCache(request.LayerCacheDirectory, _clock);

        // A base named by tag is resolved on every build (what the tag points at decides the image); one pinned by
        // digest, with its blobs in the cache, costs no request.
        var baseImage = request.BaseImage is null
            ? null
            : await (_bases ?? throw new InvalidOperationException("The request names a base image, and the pipeline has no base image source.")).GetAsync(request, cancellationToken);
        var inputs = BuildSummary.InputsOf(request, requestFileBytes, baseImage?.ManifestDigest);
        var previous = BuildSummary.TryRead(request.SummaryPath);
        var unchanged = !repairing && previous is not null && previous.Inputs == inputs;
        var cached = unchanged ? CachedImage.Read(cache.Blobs, previous!.ManifestDigest) : null;
        if (unchanged && cached is null)
        {
            _log.Info("Nixery.Build: the layer cache no longer holds the last image; building it again.");
        }

        var (image, nixReused) = cached is not null ? (cached, true) : await BuildAsync(request, cache, baseImage, cancellationToken);
        var built = _clock.GetTimestamp();

        var run = new ImageRun(request, UpToDate: cached is not null, previous);
        var artifact = ImageArtifact.Of(image);
        IReadOnlyList<SinkResult> results;
        try
        {
            results = await RunSinksAsync(artifact, run, sinks, cancellationToken);
        }
        catch (DamagedBlobException e)
        {
            // The sinks check every byte they copy, so a blob changed on disk (with its size and time kept, which the
            // cache's cheaper checks trust) is found here, before anything damaged was written or pushed.
            cache.Forget(e.Descriptor.Digest);
            if (repairing)
            {
                throw new NixImageException(
                    ErrorCodes.WriteFailed,
                    $"{e.Message} It was rebuilt once already, so the disk under {cache.Root} does not keep what is written to it. Check the disk, then build again.",
                    e);
            }

            _log.Warning(
                ErrorCodes.CacheEntryDamaged,
                $"{e.Message} It is removed from the layer cache {cache.Root} and the image is built again; nothing damaged was written or pushed. If this repeats, check the disk.");
            return await RunAsync(request, requestFileBytes, sinks, repairing: true, cancellationToken);
        }

        if (!request.WriteArchive)
        {
            ArchiveSink.RemoveStale(request.ArchivePath, _log);
        }

        var archive = results.FirstOrDefault(r => r.Sink == "archive");
        if (run.UpToDate)
        {
            _log.Info($"Nixery.Build: image {image.Digest} is up to date (nothing that decides it changed){(archive is null ? string.Empty : ": " + archive.References[0])}");
            if (archive?.Wrote == true)
            {
                // Written again from the cache (it had been deleted or changed): the summary records the new file.
                BuildSummary.Write(request, inputs, artifact, nixReused, cache.Counters);
                _log.Info($"Image archive: {archive.References[0]} (written again from the layer cache)");
            }

            return new ImageBuildResult(artifact, UpToDate: true, request.SummaryPath, results);
        }

        var sunk = _clock.GetTimestamp();
        if (_pruneCache)
        {
            Prune(cache, request, artifact, _log);
        }

        var summaryPath = BuildSummary.Write(request, inputs, artifact, nixReused, cache.Counters);
        var bytes = image.Layers.Sum(l => l.Blob.Descriptor.Size);
        _log.Info($"Image {request.Repository}:{string.Join(",", request.Tags)} {image.Digest}: {image.Layers.Count} layers, {NixClient.FormatSize(bytes)} compressed, in {_clock.GetElapsedTime(started).TotalSeconds:0.0} s");
        if (archive is not null)
        {
            _log.Info($"Image archive: {archive.References[0]}");
        }

        _log.Detail(FormattableString.Invariant(
            $"timing: closure and layers {_clock.GetElapsedTime(started, built).TotalMilliseconds:0} ms, sinks {_clock.GetElapsedTime(built, sunk).TotalMilliseconds:0} ms, cache pruning and summary {_clock.GetElapsedTime(sunk).TotalMilliseconds:0} ms"));
        return new ImageBuildResult(artifact, UpToDate: false, summaryPath, results);
    }

    /// <summary>Prunes the layer cache to its size, least recently used first, keeping every blob of <paramref name="artifact"/>.</summary>
    internal static void Prune(LayerCache cache, ImageRequest request, ImageArtifact artifact, IBuildLog log)
    {
        var freed = cache.Prune(request.CacheMaxSize, artifact.AllBlobs.Select(b => b.Descriptor.Digest).ToHashSet());
        if (freed > 0)
        {
            log.Info($"Layer cache {cache.Root}: pruned {NixClient.FormatSize(freed)} of least recently used blobs to stay under {NixClient.FormatSize(request.CacheMaxSize)}");
        }
    }

    /// <summary>The closure, the planned layers built or reused, then the config and manifest, all in the layer cache.</summary>
    private async Task<(BuiltImage Image, bool NixReused)> BuildAsync(ImageRequest request, LayerCache cache, BaseImage? baseImage, CancellationToken cancellationToken)
    {
        var (closure, nixReused, storeView) = await _closures.GetAsync(request, cancellationToken);
        var media = MediaTypeSet.For(request.Format);
        using var workers = new CompressionWorkers(System.Environment.ProcessorCount);
        var writer = new LayerWriter(new LayerWriterSettings(request.Created, request.CompressionLevel), workers);
        var jobs = LayerPlanner.Plan(request, closure, storeView, writer.Settings, _log, baseImage);
        var built = LayerProducer.Produce(jobs, cache, writer, media.Layer, _log, cancellationToken);
        var baseLayers = baseImage?.Layers ?? [];
        var layers = baseLayers.Concat(built).ToList();
        var baseHistory = baseImage is null ? [] : ContainerConfiguration.BaseHistory(baseImage);

        var config = new ImageConfig
        {
            Created = request.Created,
            Platform = request.Platform,
            Settings = ContainerConfiguration.Settings(request, closure, storeView, baseImage),
            DiffIds = layers.Select(l => l.DiffId).ToList(),
            BaseHistory = baseHistory,
            History = (baseImage is not null && baseHistory.Count == 0 ? layers : built).Select(l => new HistoryEntry(l.Description)).ToList(),
        };
        var store = cache.Blobs;
        var configDescriptor = store.AddBytes(media.Config, OciJson.Serialize(config));
        var manifest = new ImageManifest(media.Manifest, configDescriptor, layers.Select(l => l.Blob.Descriptor).ToList());
        var manifestDescriptor = store.AddBytes(media.Manifest, OciJson.Serialize(manifest));
        return (new BuiltImage(store.Blob(configDescriptor), store.Blob(manifestDescriptor), layers), nixReused);
    }

    /// <summary>
    /// Every sink at once (the push reads the same cached blobs the archive copies; pruning spares them). When one
    /// fails, the others are let to end (their outcome no longer matters) before the run gives up; a damaged blob
    /// is reported first, since the pipeline can repair it.
    /// </summary>
    internal static async Task<IReadOnlyList<SinkResult>> RunSinksAsync(ImageArtifact image, ImageRun run, IReadOnlyList<IImageSink> sinks, CancellationToken cancellationToken)
    {
        var writing = new List<Task<SinkResult>>();
        foreach (var sink in sinks)
        {
            try
            {
                writing.Add(sink.WriteAsync(image, run, cancellationToken));
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

    private sealed record MediaTypeSet(string Manifest, string Config, string Layer)
    {
        public static MediaTypeSet For(ImageFormat format) => format == ImageFormat.Docker
            ? new(MediaTypes.DockerManifest, MediaTypes.DockerConfig, MediaTypes.DockerLayerGzip)
            : new(MediaTypes.OciManifest, MediaTypes.OciConfig, MediaTypes.OciLayerGzip);
    }
}
