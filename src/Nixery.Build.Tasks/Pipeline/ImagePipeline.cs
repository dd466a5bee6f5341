using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.Image;
using Nixery.Build.LayerFormat;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Sinks;
using Nixery.Build.Sources;
using Nixery.Build.Streams;

namespace Nixery.Build.Pipeline;

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
        var freshness = ImageFreshness.Of(request, ImageFreshness.ImageInputs(request, requestFileBytes, baseImage?.ManifestDigest));
        if (repairing)
        {
            freshness = freshness.Rebuilt();
        }

        var cached = freshness.UpToDate ? ImageSboms.ReadCached(request, freshness.Previous!.ManifestDigest, cache) : null;
        if (freshness.UpToDate && cached is null)
        {
            _log.Info("Nixery.Build: the layer cache no longer holds the last image or its SBOMs; building it again.");
            freshness = freshness.Rebuilt();
        }

        var (image, nixReused) = cached is not null ? (cached, true) : await BuildAsync(request, cache, baseImage, cancellationToken);
        if (cached is not null && !ImageFreshness.LockIsCurrent(request))
        {
            // The image is up to date, and the lock (an output of a build with Nix) was deleted or went stale: the
            // closure is remembered, so writing it again costs no Nix run.
            ImageFreshness.WriteLock(request, (await _closures.GetAsync(request, ImageFreshness.ClosureKey(request), cancellationToken)).Closure, _log);
        }

        var built = _clock.GetTimestamp();
        try
        {
            return await ImageDelivery.DeliverAsync(
                request,
                ImageArtifact.Of(image),
                freshness,
                sinks,
                cache,
                _pruneCache,
                nixReused,
                _log,
                $"Nixery.Build: image {image.Digest} is up to date (nothing that decides it changed)",
                () =>
                {
                    var bytes = image.Layers.Sum(l => l.Blob.Descriptor.Size);
                    _log.Detail(FormattableString.Invariant(
                        $"timing: closure and layers {_clock.GetElapsedTime(started, built).TotalMilliseconds:0} ms, sinks, cache pruning and summary {_clock.GetElapsedTime(built).TotalMilliseconds:0} ms"));
                    return $"Image {request.Repository}:{string.Join(",", request.Tags)} {image.Digest}: {image.Layers.Count} layers, {NixClient.FormatSize(bytes)} compressed, in {_clock.GetElapsedTime(started).TotalSeconds:0.0} s";
                },
                cancellationToken);
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
    }

    /// <summary>The closure, the planned layers built or reused, then the config and manifest, all in the layer cache.</summary>
    private async Task<(BuiltImage Image, bool NixReused)> BuildAsync(ImageRequest request, LayerCache cache, BaseImage? baseImage, CancellationToken cancellationToken)
    {
        var (closure, nixReused, storeView) = await _closures.GetAsync(request, ImageFreshness.ClosureKey(request), cancellationToken);
        if (request.NixMode != NixMode.Lock)
        {
            ImageFreshness.WriteLock(request, closure, _log);
        }

        RuntimeFrameworkCheck.Check(request, closure, storeView, _log, baseImage);
        var media = ImageRequestChecks.MediaTypes(request);
        using var workers = new CompressionWorkers(System.Environment.ProcessorCount);
        var writer = new LayerWriter(new LayerWriterSettings(request.Created, request.CompressionLevel, request.LayerCompression), workers);
        var jobs = LayerPlanner.Plan(request, closure, storeView, (kind, inputs) => ImageFreshness.LayerKey(kind, writer.Settings, inputs), _log, baseImage);
        var built = LayerProducer.Produce(jobs, cache, writer, ImageRequestChecks.LayerMediaType(request), _log, cancellationToken);
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
        var image = new BuiltImage(store.Blob(configDescriptor), store.Blob(manifestDescriptor), layers);
        return (ImageSboms.Attach(request, image, closure, baseImage, cache), nixReused);
    }
}
