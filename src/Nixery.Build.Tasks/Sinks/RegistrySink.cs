using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Registry;
using Nixery.Build.Settings;

namespace Nixery.Build.Sinks;

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
        var (host, insecure, timeout) = settings.Check(environment(InsecureRegistries.EnvironmentVariable));
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

    public SinkKind Kind => SinkKind.Registry;

    public async Task<SinkResult> WriteAsync(ImageArtifact image, bool upToDate, CancellationToken cancellationToken)
    {
        var session = await _connecting;
        var pushed = await session.PushAsync(image, cancellationToken);
        return new SinkResult(Kind, pushed.References, pushed.Uploaded + pushed.Mounted + pushed.TagsPushed + pushed.ReferrersPushed > 0);
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
