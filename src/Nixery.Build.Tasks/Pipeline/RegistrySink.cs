using System.Globalization;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Registry;

namespace Nixery.Build.Pipeline;

/// <summary>Where to push: ContainerRegistry, ContainerInsecureRegistries and NixImageRegistryTimeout, as the user wrote them.</summary>
public sealed record RegistrySettings(string Registry, string? InsecureRegistries, string? Timeout);

/// <summary>
/// The registry sink (ContainerRegistry), a push in two halves: connecting starts when the sink is made (before the
/// layers are built, so the registry's round trips and the HTTP stack's first use overlap with the layer work);
/// <see cref="WriteAsync"/> sends the image once it exists. Disposing it cancels a connection still under way.
/// </summary>
public sealed class RegistrySink : IImageSink, IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly Task<RegistryPusher.Session> _connecting;

    internal RegistrySink(RegistryPusher pusher, RegistryPushRequest request, CancellationToken cancellationToken)
    {
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = _cancel.Token;
        _connecting = Task.Run(() => pusher.ConnectAsync(request, token), token);
    }

    /// <summary>
    /// Checks ContainerRegistry, the insecure-registry lists and the timeout (coded errors, before anything is built
    /// or sent), then starts connecting for a push of <paramref name="repository"/> under <paramref name="tags"/>.
    /// </summary>
    /// <param name="environment">The build's environment (credentials, DOCKER_CONFIG, SSL_CERT_FILE, PATH, ...).</param>
    /// <param name="handler">The HTTP stack; null: the real one.</param>
    public static RegistrySink Connect(RegistrySettings settings, string repository, IReadOnlyList<string> tags, string cacheDirectory, IBuildLog log, Func<string, string?> environment, HttpMessageHandler? handler, CancellationToken cancellationToken)
    {
        var (host, insecure, timeout) = Check(settings, environment(InsecureRegistries.EnvironmentVariable));
        var push = new RegistryPushRequest
        {
            Registry = host,
            Repository = repository,
            Tags = tags,
            Insecure = insecure,
            Timeout = timeout,
            CacheDirectory = cacheDirectory,
            Environment = environment,
        };
        return new RegistrySink(new RegistryPusher(log, handler), push, cancellationToken);
    }

    /// <summary>
    /// The registry settings, parsed and checked (coded errors): ContainerRegistry, the insecure lists (the property
    /// and DOTNET_CONTAINER_INSECURE_REGISTRIES) and the timeout. The request factory checks them with this too.
    /// </summary>
    public static (RegistryHost Registry, InsecureRegistries Insecure, TimeSpan Timeout) Check(RegistrySettings settings, string? insecureRegistriesVariable) =>
        (RegistryHost.Parse(settings.Registry.Trim()), InsecureRegistries.Parse(insecureRegistriesVariable, settings.InsecureRegistries), Timeout(settings.Timeout));

    /// <summary>NixImageRegistryTimeout: whole seconds from 1 to 3600; empty for the default (30 s).</summary>
    public static TimeSpan Timeout(string? seconds)
    {
        if (string.IsNullOrWhiteSpace(seconds))
        {
            return PushOptions.DefaultTimeout;
        }

        if (!int.TryParse(seconds.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value is < 1 or > 3600)
        {
            throw new NixImageException(
                ErrorCodes.InvalidRegistryTimeout,
                $"NixImageRegistryTimeout '{seconds}' is not a number of seconds from 1 to 3600. Set it to how long the registry may take to accept a connection, or go without progress (e.g. 120 on a slow link), or remove it for 30.");
        }

        return TimeSpan.FromSeconds(value);
    }

    public async Task<SinkResult> WriteAsync(ImageArtifact image, ImageRun run, CancellationToken cancellationToken)
    {
        var session = await _connecting;
        var pushed = await session.PushAsync(image, cancellationToken);
        return new SinkResult("registry", pushed.References, pushed.Uploaded + pushed.Mounted + pushed.TagsPushed > 0);
    }

    public void Dispose()
    {
        _cancel.Cancel();

        // The session closes when the connection attempt ends; its failure, if nobody pushed, is nobody's error.
        _connecting.ContinueWith(
            t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    t.Result.Dispose();
                }

                _ = t.Exception;
                _cancel.Dispose();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}
