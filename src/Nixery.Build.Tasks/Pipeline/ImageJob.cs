using Nixery.Build.Diagnostics;
using Nixery.Build.Engines;
using Nixery.Build.Settings;
using Nixery.Build.Sinks;
using Nixery.Build.Sources;

namespace Nixery.Build.Pipeline;

/// <summary>
/// What the image tasks run: the request file in, the pipeline with the sinks the request asks for (the registry,
/// the archive, an OCI layout folder), the result out. The registry settings are checked before anything is built.
/// </summary>
public static class ImageJob
{
    /// <param name="prepared">The request as the step before wrote it in this build, if it handed it on (spares parsing the file).</param>
    /// <param name="registry">Where to push; null for no push.</param>
    /// <param name="environment">The build's environment (PATH to find Nix on, registry credentials, TLS trust).</param>
    /// <param name="platformOnly">
    /// One platform of a multi-platform publish: the image is built into the layer cache only, and
    /// <see cref="RunIndexAsync"/> sends the index of all platforms to the sinks.
    /// </param>
    /// <param name="pull">How to reach a base image's registry (ContainerInsecureRegistries, NixImageRegistryTimeout); null: the defaults.</param>
    public static async Task<ImageBuildResult> RunAsync(string requestFile, PreparedRequest? prepared, RegistrySettings? registry, IBuildLog log, Func<string, string?> environment, CancellationToken cancellationToken, bool platformOnly = false, PullSettings? pull = null)
    {
        var (request, requestFileBytes, _) = RequestFile.Read(requestFile, prepared);
        if (platformOnly)
        {
            request = PlatformOnly(request);
        }

        using var push = registry is null || platformOnly ? null : Connect(registry, request, log, environment, cancellationToken);
        var sinks = platformOnly ? [] : Sinks(request, push, log, environment("PATH"));
        var bases = new RegistryBaseImageSource(log, pull ?? new PullSettings(registry?.InsecureRegistries, registry?.Timeout), environment);
        IClosureSource closures = request.NixMode == NixMode.Lock ? new LockClosureSource(log, RegistrySettings.TimeoutOf(pull?.Timeout ?? registry?.Timeout)) : new NixClosureSource(log, environment("PATH"));
        var pipeline = new ImagePipeline(log, closures, pruneCache: !platformOnly, bases: bases);
        return await pipeline.RunAsync(request, sinks, cancellationToken, requestFileBytes);
    }

    /// <summary>The NixLock target: Nix's closure for the request's packages, written to the lock file; no image.</summary>
    public static async Task LockAsync(string requestFile, IBuildLog log, Func<string, string?> environment, CancellationToken cancellationToken)
    {
        var request = RequestFile.Read(requestFile);
        var closure = await new NixClosureSource(log, environment("PATH")).GetAsync(request, ImageFreshness.ClosureKey(request), cancellationToken);
        ImageFreshness.WriteLock(request, closure.Closure, log);
    }

    /// <summary>Joins the platforms' images (built by their own <see cref="RunAsync"/> with platformOnly) into one index and runs the sinks.</summary>
    public static async Task<ImageBuildResult> RunIndexAsync(string requestFile, PreparedRequest? prepared, IReadOnlyList<PlatformImage> platforms, RegistrySettings? registry, IBuildLog log, Func<string, string?> environment, CancellationToken cancellationToken)
    {
        var (request, requestFileBytes, _) = RequestFile.Read(requestFile, prepared);
        using var push = registry is null ? null : Connect(registry, request, log, environment, cancellationToken);
        return await new ImageIndexPipeline(log).RunAsync(request, platforms, Sinks(request, push, log, environment("PATH")), cancellationToken, requestFileBytes);
    }

    /// <summary>
    /// One platform of several writes nothing where its request's archive and summary would go: that is the
    /// multi-platform publish's own archive when ContainerArchiveOutputPath is set (shared by every inner build), and a
    /// single-RID publish's otherwise, whose summary must keep vouching for that publish's archive. Its summary goes
    /// into its intermediate folder. (What decides "up to date" is the request file's bytes, unchanged by this.)
    /// </summary>
    internal static ImageRequest PlatformOnly(ImageRequest request) => request with
    {
        ArchivePath = Path.Combine(request.IntermediateDirectory, "platform-image.tar"),
        WriteArchive = false,
        OciLayoutPath = null,
        LocalEngine = null,
    };

    private static RegistrySink Connect(RegistrySettings registry, ImageRequest request, IBuildLog log, Func<string, string?> environment, CancellationToken cancellationToken) =>
        RegistrySink.Connect(registry, request.Repository, request.Tags, request.LayerCacheDirectory, log, environment, handler: null, cancellationToken);

    /// <summary>The sinks the request asks for (and <paramref name="push"/>), each made with what it needs.</summary>
    internal static List<IImageSink> Sinks(ImageRequest request, RegistrySink? push, IBuildLog log, string? path)
    {
        var sinks = new List<IImageSink>();
        var names = new RepositoryTags(request.Repository, request.Tags);
        if (push is not null)
        {
            sinks.Add(push);
        }

        if (request.WriteArchive)
        {
            sinks.Add(new ArchiveSink(request.ArchivePath, names, request.Created));
        }

        if (request.OciLayoutPath is { } layout)
        {
            sinks.Add(new LayoutSink(layout, names, log));
        }

        if (request.LocalEngine is { } engine)
        {
            sinks.Add(new LocalEngineSink(LocalEngine.Find(engine, path, log), names, request.Created, log));
        }

        return sinks;
    }
}
