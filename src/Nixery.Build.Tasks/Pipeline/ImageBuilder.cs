using System.Diagnostics;
using System.Text;
using Nixery.Build.Archive;
using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Registry;

namespace Nixery.Build.Pipeline;

/// <summary>What a build produced.</summary>
/// <param name="Pushed">What the registry push sent, when there was one.</param>
public sealed record ImageBuildResult(BuiltImage Image, string? ArchivePath, string SummaryPath, RegistryPushResult? Pushed = null);

/// <summary>
/// The whole pipeline: Nix closure → layer groups → layers written in parallel → config and manifest →
/// sinks. Plain library code: the MSBuild task is a thin adapter over <see cref="BuildAsync"/>.
/// </summary>
public sealed class ImageBuilder
{
    private readonly IBuildLog _log;
    private readonly string? _pathVariable;

    /// <param name="pathVariable">The PATH to find Nix on (the build's environment).</param>
    public ImageBuilder(IBuildLog log, string? pathVariable)
    {
        _log = log;
        _pathVariable = pathVariable;
    }

    /// <param name="registry">A push to run beside the archive (already connecting), or null.</param>
    public Task<ImageBuildResult> BuildAsync(ImageRequest request, CancellationToken cancellationToken, RegistrySink? registry = null) =>
        BuildAsync(request, registry, repairing: false, cancellationToken);

    /// <param name="repairing">True on the second try, after a damaged cached blob was removed: a second damaged blob is an error.</param>
    private async Task<ImageBuildResult> BuildAsync(ImageRequest request, RegistrySink? registry, bool repairing, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        Validate(request);
        if (PublishFolder.SpecialFiles(request.PublishDirectory) is { Count: > 0 } special)
        {
            _log.Warning(
                ErrorCodes.SpecialFileSkipped,
                $"The publish folder holds {string.Join(", ", special)}: not a regular file, folder or symlink (a FIFO, socket or device), so it is left out of the image. "
                + "Remove it from the publish output.");
        }

        var (closure, nixReused) = await RuntimeClosureAsync(request, cancellationToken);
        var nixTime = stopwatch.Elapsed;

        var groups = LayerGrouping.Group(
            LayerGrouping.WithClosureSizes(closure.Paths),
            closure.Packages.Select(p => p.StorePath).Distinct(StringComparer.Ordinal).ToList(),
            request.Popularity,
            request.LayerBudget);

        var appGroups = AppLayerSplit.Split(request.PublishDirectory, request.AppName ?? string.Empty, _log);
        var totalLayers = groups.Count + 1 + appGroups.Count;
        if (totalLayers > ImageDefaults.MaxLayers)
        {
            throw new NixImageException(
                ErrorCodes.LayerLimit,
                $"The image would have {totalLayers} layers ({groups.Count} from Nix, 1 of symlinks, {appGroups.Count} of the app), more than the {ImageDefaults.MaxLayers} that Docker accepts. "
                + $"Lower NixLayerBudget to at most {ImageDefaults.MaxLayers - 1 - appGroups.Count}.");
        }

        var media = MediaTypesFor(request.Format);
        var cache = new LayerCache(request.LayerCacheDirectory);
        var store = cache.Blobs;
        using var workers = new CompressionWorkers(System.Environment.ProcessorCount);
        var writer = new LayerWriter(new LayerWriterSettings(request.Created, request.CompressionLevel), workers);
        // The app-host packages are there for the app's own ELF files (through their RUNPATH), not for the image root.
        var topLevel = closure.Packages.Where(p => !request.AppHostPackages.Contains(p.Name))
            .Select(p => p.StorePath).Distinct(StringComparer.Ordinal).ToList();
        var patches = LinkNativeFiles(request, closure);
        var jobs = new List<LayerJob>();

        // Store paths never change, so a Nix layer's key is its paths: a hit skips tar and gzip entirely.
        jobs.AddRange(groups.Select(g => new LayerJob(
            "nix: " + string.Join(' ', g.StorePaths.Select(RuntimeClosure.NameOf).Order(StringComparer.Ordinal)),
            () => StoreLayer.Entries(g.StorePaths),
            $"rating {g.Rating}, {g.StorePaths.Count} store path(s)",
            () => LayerCache.Key("nix", writer.Settings, g.StorePaths))));
        jobs.Add(new LayerJob(
            "symlinks",
            () => SymlinkLayer.Build(topLevel, UserDatabase.Entries(), _log),
            "links to the top-level packages, users",
            () => LayerCache.Key("symlinks", writer.Settings, topLevel)));

        // App files change; their key is what a change would show: path, size, time, mode of every entry.
        jobs.AddRange(appGroups.Select(g => new LayerJob(
            g.Description,
            () => AppLayer.Entries(request.PublishDirectory, request.WorkingDirectory, g, patches),
            g.Count > 0 ? $"{g.Count} file(s)" : "the rest of the publish folder",
            () => LayerCache.Key("app", writer.Settings, AppLayer.Entries(request.PublishDirectory, request.WorkingDirectory, g, patches).Select(Describe)))));

        var layers = WriteLayers(jobs, cache, writer, media.Layer, cancellationToken);
        var layersTime = stopwatch.Elapsed;

        var config = new ImageConfig
        {
            Created = request.Created,
            Platform = request.Platform,
            Settings = ContainerConfiguration.Settings(request, closure),
            DiffIds = layers.Select(l => l.DiffId).ToList(),
            History = layers.Select(l => new HistoryEntry(l.Description)).ToList(),
        };
        var configDescriptor = store.AddBytes(media.Config, OciJson.Serialize(config));
        var manifest = new ImageManifest(media.Manifest, configDescriptor, layers.Select(l => l.Blob.Descriptor).ToList());
        var manifestDescriptor = store.AddBytes(media.Manifest, OciJson.Serialize(manifest));
        var image = new BuiltImage(store.Blob(configDescriptor), store.Blob(manifestDescriptor), layers);

        RegistryPushResult? pushed;
        try
        {
            pushed = await RunSinksAsync(request, image, registry, cancellationToken);
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
            return await BuildAsync(request, registry, repairing: true, cancellationToken);
        }

        var archiveTime = stopwatch.Elapsed;
        var freed = cache.Prune(request.CacheMaxSize, image.Layers.Select(l => l.Blob.Descriptor.Digest).Append(image.Config.Descriptor.Digest).Append(image.Digest).ToHashSet());
        if (freed > 0)
        {
            _log.Info($"Layer cache {cache.Root}: pruned {NixClient.FormatSize(freed)} of least recently used blobs to stay under {NixClient.FormatSize(request.CacheMaxSize)}");
        }

        var summaryPath = WriteSummary(request, image, nixReused, cache.Counters);
        var bytes = layers.Sum(l => l.Blob.Descriptor.Size);
        _log.Info($"Image {request.Repository}:{string.Join(",", request.Tags)} {image.Digest}: {layers.Count} layers, {NixClient.FormatSize(bytes)} compressed, in {stopwatch.Elapsed.TotalSeconds:0.0} s");
        if (request.WriteArchive)
        {
            _log.Info($"Image archive: {request.ArchivePath}");
        }

        _log.Detail(FormattableString.Invariant(
            $"timing: closure {nixTime.TotalMilliseconds:0} ms, layers {(layersTime - nixTime).TotalMilliseconds:0} ms, config, archive and push {(archiveTime - layersTime).TotalMilliseconds:0} ms, cache pruning and summary {(stopwatch.Elapsed - archiveTime).TotalMilliseconds:0} ms"));
        return new ImageBuildResult(image, request.WriteArchive ? request.ArchivePath : null, summaryPath, pushed);
    }

    /// <summary>The archive and the push, side by side: the push reads the same cached blobs the archive copies (pruning spares them).</summary>
    private async Task<RegistryPushResult?> RunSinksAsync(ImageRequest request, BuiltImage image, RegistrySink? registry, CancellationToken cancellationToken)
    {
        var pushing = registry?.PushAsync(image, cancellationToken);
        try
        {
            if (request.WriteArchive)
            {
                OciArchiveWriter.Write(image, request.Repository, request.Tags, request.ArchivePath, request.Created, cancellationToken);
            }
            else if (File.Exists(request.ArchivePath))
            {
                // An archive of an earlier build beside a summary that says there is none would be taken for this image.
                File.Delete(request.ArchivePath);
                _log.Info($"Removed the archive of an earlier build, {request.ArchivePath}: this build pushes instead (set ContainerArchiveOutputPath to get both)");
            }
        }
        catch (Exception e)
        {
            // The push reads the same blobs: let it end (its outcome no longer matters) before the build gives up.
            if (pushing is not null)
            {
                await pushing.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            if (e is IOException)
            {
                throw new NixImageException(ErrorCodes.WriteFailed, $"The image archive '{request.ArchivePath}' could not be written: {e.Message} Check the folder's permissions and free space.", e);
            }

            throw;
        }

        return pushing is null ? null : await pushing;
    }

    private sealed record LayerJob(string Description, Func<IEnumerable<LayerEntry>> Entries, string Detail, Func<string> Key);

    /// <summary>Patches that make the app's ELF files find the store's loader and libraries.</summary>
    private IReadOnlyDictionary<string, FilePatch> LinkNativeFiles(ImageRequest request, RuntimeClosure closure)
    {
        if (NativeLinking.PlatformOf(request.Platform.NixSystem) is not { } platform)
        {
            _log.Detail($"native: ELF files are not patched for {request.Platform.NixSystem}");
            return new Dictionary<string, FilePatch>();
        }

        var appHost = closure.Packages.Where(p => request.AppHostPackages.Contains(p.Name)).Select(p => p.StorePath).ToList();
        var linking = new NativeLinking(platform.Machine, platform.Architecture, appHost, closure.Paths.Keys, _log);
        var prefix = request.WorkingDirectory + "/";
        var entrypoint = request.Entrypoint.Concat(request.Command).FirstOrDefault();
        var relative = entrypoint is not null && entrypoint.StartsWith(prefix, StringComparison.Ordinal) ? entrypoint[prefix.Length..] : null;
        return linking.Plan(request.PublishDirectory, relative);
    }

    /// <summary>The runtime closure: the last one when nothing that decides it changed, otherwise Nix's answer.</summary>
    private async Task<(RuntimeClosure Closure, bool Reused)> RuntimeClosureAsync(ImageRequest request, CancellationToken cancellationToken)
    {
        var closureCache = new ClosureCache(Path.Combine(request.IntermediateDirectory, "closure.json"));
        var fingerprint = ClosureCache.Fingerprint(request.NixSourceIdentity, request.Platform.NixSystem, request.Packages);
        if (fingerprint is not null && closureCache.TryLoad(fingerprint) is { } cached)
        {
            _log.Info($"Nix: packages, system and package set unchanged; reusing the runtime closure of {cached.Paths.Count} store paths without running Nix");
            return (cached, true);
        }

        if (fingerprint is null)
        {
            _log.Detail($"Nix: {request.Source.Describe()} is not pinned to a revision, so Nix runs on every build");
        }

        var nix = NixClient.Locate(_pathVariable, _log);
        var closure = await nix.GetRuntimeClosureAsync(
            request.Source,
            request.Platform.NixSystem,
            request.Packages,
            Path.Combine(request.IntermediateDirectory, "gcroots"),
            cancellationToken);
        if (fingerprint is not null)
        {
            closureCache.Save(fingerprint, closure);
        }

        return (closure, false);
    }

    /// <summary>One line per entry with everything that decides its bytes in the tar.</summary>
    private static string Describe(LayerEntry entry) => entry switch
    {
        FileEntry f => $"f {f.Path} {f.Mode} {f.Uid}:{f.Gid} {f.Size} {File.GetLastWriteTimeUtc(f.SourcePath).Ticks}{(f.Patch is { } p ? " patch " + p.Fingerprint() : string.Empty)}",
        DirectoryEntry d => $"d {d.Path} {d.Mode} {d.Uid}:{d.Gid}",
        SymlinkEntry l => $"l {l.Path} {l.Target}",
        InlineFileEntry i => $"i {i.Path} {i.Mode} {i.Uid}:{i.Gid} {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(i.Content.Span))}",
        _ => throw new ArgumentException($"Unknown layer entry {entry.GetType().Name}.", nameof(entry)),
    };

    private sealed record MediaTypeSet(string Manifest, string Config, string Layer);

    private static MediaTypeSet MediaTypesFor(ImageFormat format) => format == ImageFormat.Docker
        ? new(MediaTypes.DockerManifest, MediaTypes.DockerConfig, MediaTypes.DockerLayerGzip)
        : new(MediaTypes.OciManifest, MediaTypes.OciConfig, MediaTypes.OciLayerGzip);

    private List<LayerBlob> WriteLayers(List<LayerJob> jobs, LayerCache cache, LayerWriter writer, string layerMediaType, CancellationToken cancellationToken)
    {
        var results = new LayerBlob[jobs.Count];
        var written = new CachedLayer[jobs.Count];
        var reused = new bool[jobs.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = System.Environment.ProcessorCount, CancellationToken = cancellationToken };
        try
        {
            Parallel.For(0, jobs.Count, options, i =>
            {
                var job = jobs[i];
                var key = job.Key();
                var layer = cache.TryGet(key, problem => _log.Warning(
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

                written[i] = layer;
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
            _log.Info($"  layer {i + 1}/{jobs.Count} {jobs[i].Description} ({jobs[i].Detail}): {NixClient.FormatSize(written[i].UncompressedSize)} → {NixClient.FormatSize(written[i].Size)}, {(reused[i] ? "reused" : "built")}");
        }

        return [.. results];
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

    private static void Validate(ImageRequest request)
    {
        if (!Directory.Exists(request.PublishDirectory))
        {
            throw new NixImageException(
                ErrorCodes.PublishOutputMissing,
                $"The publish folder '{request.PublishDirectory}' does not exist. Run the image step after Publish (dotnet publish -p:NixImage=true).");
        }

        ImageNames.ValidateRepository(request.Repository);
        if (request.Tags.Count == 0)
        {
            throw new NixImageException(ErrorCodes.InvalidImageName, "No image tag is set. Set ContainerImageTag or ContainerImageTags.");
        }

        foreach (var tag in request.Tags)
        {
            ImageNames.ValidateTag(tag);
        }

        if (request.LayerBudget < 1)
        {
            throw new NixImageException(ErrorCodes.LayerLimit, $"NixLayerBudget is {request.LayerBudget}, but it must be at least 1. Set it to a number from 1 to {ImageDefaults.MaxLayers - 2}.");
        }

        if (ImageSettings.WorkingDirectory(request.WorkingDirectory) != request.WorkingDirectory)
        {
            throw new NixImageException(ErrorCodes.InvalidImageSetting, $"ContainerWorkingDirectory '{request.WorkingDirectory}' is not in canonical form. Use a path such as /app.");
        }

        if (request.Entrypoint.Count == 0 && request.Command.Count == 0)
        {
            throw new NixImageException(ErrorCodes.InvalidImageSetting, "The image has no entry point and no command. Set ContainerAppCommand, or publish an app with an apphost or a .dll.");
        }

        foreach (var (name, _) in request.Environment)
        {
            ImageSettings.ValidateEnvironmentName(name);
        }

        foreach (var (key, _) in request.Labels)
        {
            ImageSettings.ValidateLabelKey(key);
        }

        if (request.User is { } user)
        {
            ImageSettings.ValidateUser(user);
        }
    }

    private static string WriteSummary(ImageRequest request, BuiltImage image, bool nixReused, CacheCounters counters)
    {
        var summaryPath = request.SummaryPath;
        var json = OciJson.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("repository", request.Repository);
            w.WriteStartArray("tags");
            foreach (var tag in request.Tags)
            {
                w.WriteStringValue(tag);
            }

            w.WriteEndArray();
            w.WriteString("manifestDigest", image.Digest.Value);
            w.WriteString("configDigest", image.Config.Descriptor.Digest.Value);
            if (request.WriteArchive)
            {
                w.WriteString("archive", Path.GetFullPath(request.ArchivePath));
            }
            else
            {
                w.WriteNull("archive");
            }

            w.WriteStartObject("build");
            w.WriteBoolean("nixRun", !nixReused);
            w.WriteNumber("layersBuilt", counters.Misses);
            w.WriteNumber("layersReused", counters.Hits);
            w.WriteNumber("layersRepaired", counters.Repaired);
            w.WriteEndObject();
            w.WriteStartArray("layers");
            foreach (var layer in image.Layers)
            {
                w.WriteStartObject();
                w.WriteString("digest", layer.Blob.Descriptor.Digest.Value);
                w.WriteString("diffId", layer.DiffId.Value);
                w.WriteNumber("size", layer.Blob.Descriptor.Size);
                w.WriteString("holds", layer.Description);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
        PartialFiles.WriteAllBytes(summaryPath, json);
        return summaryPath;
    }
}
