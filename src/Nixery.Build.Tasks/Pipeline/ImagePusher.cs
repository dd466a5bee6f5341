using Nixery.Build.Archive;
using Nixery.Build.Diagnostics;
using Nixery.Build.Registry;

namespace Nixery.Build.Pipeline;

/// <summary>
/// The registry step: after the image target (built now, or found up to date), pushes the image the archive holds
/// to ContainerRegistry under the request's repository and tags. Its own step, so an up-to-date image is still
/// pushed (to a registry that lacks it, or under a new tag), and a push costs no image work.
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
    public (RegistryHost Registry, InsecureRegistries Insecure) Check(string registry, string? insecureRegistries) =>
        (RegistryHost.Parse(registry.Trim()), InsecureRegistries.Parse(_environment(InsecureRegistriesVariable), insecureRegistries));

    /// <summary>Pushes the image in <paramref name="archivePath"/> as <paramref name="requestFile"/> names it.</summary>
    public async Task<RegistryPushResult> PushAsync(string requestFile, string archivePath, string registry, string? insecureRegistries, string? cacheDirectory, string projectDirectory, CancellationToken cancellationToken)
    {
        var (host, insecure) = Check(registry, insecureRegistries);
        var request = RequestFile.Read(requestFile);
        var image = OciArchiveReader.Read(archivePath);
        var push = new RegistryPushRequest
        {
            Registry = host,
            Repository = request.Repository,
            Tags = request.Tags,
            Insecure = insecure,
            CacheDirectory = ImageDefaults.CacheDirectory(cacheDirectory, projectDirectory),
            Environment = _environment,
        };
        return await new RegistryPusher(_log, _handler).PushAsync(image, push, cancellationToken);
    }
}
