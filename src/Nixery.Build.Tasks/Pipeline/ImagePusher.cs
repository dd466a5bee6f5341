using Nixery.Build.Archive;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Registry;

namespace Nixery.Build.Pipeline;

/// <summary>
/// The registry sink: pushes an image to ContainerRegistry under the request's repository and tags. The image
/// build connects through <see cref="Connect"/> and pushes beside writing the archive; an image found up to date is
/// pushed by <see cref="PushAsync"/> (to a registry that lacks it, or under a new tag) at no image work.
/// </summary>
public sealed class ImagePusher
{
    public const string InsecureRegistriesVariable = InsecureRegistries.EnvironmentVariable;

    private readonly IBuildLog _log;
    private readonly Func<string, string?> _environment;
    private readonly HttpMessageHandler? _handler;

    /// <param name="environment">The build's environment (credentials, DOCKER_CONFIG, SSL_CERT_FILE, PATH, ...).</param>
    /// <param name="handler">The HTTP stack; null: the real one.</param>
    public ImagePusher(IBuildLog log, Func<string, string?> environment, HttpMessageHandler? handler = null)
    {
        _log = log;
        _environment = environment;
        _handler = handler;
    }

    /// <summary>Checks ContainerRegistry and the insecure-registry lists: called before anything is built or sent.</summary>
    public (RegistryHost Registry, InsecureRegistries Insecure, TimeSpan Timeout) Check(string registry, string? insecureRegistries, string? timeout) =>
        (RegistryHost.Parse(registry.Trim()), InsecureRegistries.Parse(_environment(InsecureRegistriesVariable), insecureRegistries), Timeout(timeout));

    /// <summary>NixImageRegistryTimeout: whole seconds from 1 to 3600; empty for the default (30 s).</summary>
    public static TimeSpan Timeout(string? seconds)
    {
        if (string.IsNullOrWhiteSpace(seconds))
        {
            return PushOptions.DefaultTimeout;
        }

        if (!int.TryParse(seconds.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) || value is < 1 or > 3600)
        {
            throw new NixImageException(
                ErrorCodes.InvalidRegistryTimeout,
                $"NixImageRegistryTimeout '{seconds}' is not a number of seconds from 1 to 3600. Set it to how long the registry may take to accept a connection, or go without progress (e.g. 120 on a slow link), or remove it for 30.");
        }

        return TimeSpan.FromSeconds(value);
    }

    /// <summary>
    /// Pushes the image <paramref name="requestFile"/> describes, as the last build left it: read from
    /// <paramref name="archivePath"/> when one was written, else from the layer cache by <paramref name="digestFile"/>.
    /// </summary>
    public async Task<RegistryPushResult> PushAsync(string requestFile, string? archivePath, string? digestFile, string registry, string? insecureRegistries, string? timeout, string? cacheDirectory, string projectDirectory, CancellationToken cancellationToken)
    {
        var request = RequestFile.Read(requestFile);
        using var sink = Connect(request.Repository, request.Tags, registry, insecureRegistries, timeout, cacheDirectory, projectDirectory, cancellationToken);
        var fromCache = string.IsNullOrWhiteSpace(archivePath);
        var image = fromCache ? FromCache(request, digestFile) : OciArchiveReader.Read(archivePath!);
        try
        {
            return await sink.PushAsync(image, cancellationToken);
        }
        catch (DamagedBlobException e)
        {
            // Nothing was pushed that names the blob (manifests go last). The next publish builds it again.
            if (fromCache)
            {
                new Cache.LayerCache(request.LayerCacheDirectory).Forget(e.Descriptor.Digest);
            }

            throw new NixImageException(
                fromCache ? ErrorCodes.ImageNotInCache : ErrorCodes.ImageArchiveUnreadable,
                $"{e.Message} Nothing that names it was pushed. {(fromCache ? "It is removed from the layer cache; publish again and the image is built anew and pushed." : $"The archive '{archivePath}' is damaged; publish again to write it anew.")}",
                e);
        }
    }

    /// <summary>Starts connecting to <paramref name="registry"/> for a push of <paramref name="repository"/> under <paramref name="tags"/>; the settings are checked first, here.</summary>
    public RegistrySink Connect(string repository, IReadOnlyList<string> tags, string registry, string? insecureRegistries, string? timeout, string? cacheDirectory, string projectDirectory, CancellationToken cancellationToken)
    {
        var (host, insecure, limit) = Check(registry, insecureRegistries, timeout);
        var push = new RegistryPushRequest
        {
            Registry = host,
            Repository = repository,
            Tags = tags,
            Insecure = insecure,
            Timeout = limit,
            CacheDirectory = ImageDefaults.CacheDirectory(cacheDirectory, projectDirectory),
            Environment = _environment,
        };
        return new RegistrySink(new RegistryPusher(_log, _handler), push, cancellationToken);
    }

    private static BuiltImage FromCache(ImageRequest request, string? digestFile)
    {
        var cache = request.LayerCacheDirectory;
        return (digestFile is null ? null : LastImage.FromCache(cache, digestFile)) ?? throw new NixImageException(
            ErrorCodes.ImageNotInCache,
            $"The image to push is no longer whole in the layer cache {cache} (pruned or cleared since this publish checked it). Publish again: the image is built again from what is cached.");
    }
}
