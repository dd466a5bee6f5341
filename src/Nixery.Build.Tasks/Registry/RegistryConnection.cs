using Nixery.Build.Diagnostics;

namespace Nixery.Build.Registry;

/// <summary>
/// One push's (or one base image pull's) way to one repository of a registry: the handler chain, built over the given transport, and the
/// <see cref="DistributionClient"/> on top of it. Outermost first:
/// <code>
/// DistributionClient → RetryHandler → AuthenticationHandler → SchemeFallbackHandler → ProgressTimeoutHandler → transport
///                                          └─ token requests ─┘ (enter at the scheme choice)
/// </code>
/// Every try of every request (token requests too) has its own watchdog; a 401 is answered inside one try; a failed
/// try is tried again as a whole, challenge and all. Everything here lives as long as the push: no state is shared
/// between pushes.
/// </summary>
internal sealed class RegistryConnection : IDisposable
{
    private readonly HttpMessageInvoker _invoker;
    private readonly SchemeFallbackHandler _scheme;

    /// <param name="transport">The HTTP stack (tests pass their own; see <see cref="RegistryTransport"/> for the real one).</param>
    /// <param name="disposeTransport">Whether disposing the connection disposes <paramref name="transport"/>.</param>
    /// <param name="trust">The trust the real transport judges certificates with (null: the transport is not ours to know).</param>
    /// <param name="timeout">How long the registry may leave a try without progress (NixImageRegistryTimeout).</param>
    public RegistryConnection(
        HttpMessageHandler transport,
        bool disposeTransport,
        RegistryHost registry,
        string repository,
        CredentialStore credentials,
        InsecureRegistries insecure,
        RetryPolicy retry,
        TlsTrust? trust,
        IBuildLog log,
        TimeSpan? timeout = null,
        TimeProvider? time = null,
        RegistryAccess access = RegistryAccess.Push)
    {
        SchemeFallbackHandler? scheme = null;
        Errors = new RegistryErrors(registry, repository, trust, () => scheme?.Scheme ?? Uri.UriSchemeHttps, access);
        Authenticator = new RegistryAuthenticator(registry, repository, Errors, credentials, insecure, time ?? TimeProvider.System);
        var bottom = disposeTransport ? transport : new KeepOpen(transport);
        var watchdog = new ProgressTimeoutHandler(timeout ?? PushOptions.DefaultTimeout, bottom);
        scheme = new SchemeFallbackHandler(registry, insecure, trust, Errors, log, watchdog);
        var auth = new AuthenticationHandler(Authenticator, Errors, scheme);
        Retry = new RetryHandler(registry, retry, Errors, log, auth);
        _scheme = scheme;
        _invoker = new HttpMessageInvoker(Retry, disposeHandler: true);
        Client = new DistributionClient(_invoker, registry, repository, Errors, access);
    }

    public DistributionClient Client { get; }

    public RetryHandler Retry { get; }

    public RegistryErrors Errors { get; }

    public RegistryAuthenticator Authenticator { get; }

    /// <summary>https or http: what the registry speaks (known once connected).</summary>
    public string Scheme => _scheme.Scheme;

    /// <summary>The challenge in force once connected (null: anonymous).</summary>
    public AuthChallenge? Challenge => Authenticator.Challenge;

    /// <summary>Checks the API (<c>GET /v2/</c>), which finds the scheme and the challenge.</summary>
    /// <param name="knownScheme">The scheme this registry answered on last time (a hint, see <see cref="RegistryEndpoints"/>).</param>
    public async Task ConnectAsync(CancellationToken cancellationToken, string? knownScheme = null)
    {
        _scheme.Hint = knownScheme;
        await Client.PingAsync(cancellationToken);
    }

    public void Dispose()
    {
        _invoker.Dispose();
        Authenticator.Dispose();
    }

    /// <summary>A transport the caller keeps: the chain's disposal stops here.</summary>
    private sealed class KeepOpen(HttpMessageHandler transport) : HttpMessageHandler
    {
        private readonly HttpMessageInvoker _transport = new(transport, disposeHandler: false);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            _transport.SendAsync(request, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _transport.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
