using Nixery.Build.Diagnostics;

namespace Nixery.Build.Registry;

/// <summary>
/// Chooses between HTTPS and plain HTTP for the registry, and words TLS failures. Requests are built for
/// <c>https://registry/…</c>; the first one (the <c>GET /v2/</c> of <see cref="DistributionClient.PingAsync"/>) finds
/// out how the registry speaks: HTTPS always, unless the registry may use plain HTTP (on this machine, or listed as
/// insecure, see <see cref="InsecureRegistries"/>) and no TLS server answers there — then this and every later request
/// to the registry go over HTTP. A scheme remembered from an earlier push (<see cref="Hint"/>) is tried first; when
/// the registry no longer answers there, the handler finds out again. Requests to other hosts (a token service, an
/// upload location elsewhere) pass unchanged. Certificates are judged by the transport (<see cref="TlsTrust"/>); a
/// handshake that failed on one is NIXIMG034 here, never retried.
/// </summary>
internal sealed class SchemeFallbackHandler : DelegatingHandler
{
    private readonly RegistryHost _registry;
    private readonly InsecureRegistries _insecure;
    private readonly TlsTrust? _trust;
    private readonly RegistryErrors _errors;
    private readonly IBuildLog _log;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile string? _scheme;

    public SchemeFallbackHandler(RegistryHost registry, InsecureRegistries insecure, TlsTrust? trust, RegistryErrors errors, IBuildLog log, HttpMessageHandler inner)
        : base(inner)
    {
        _registry = registry;
        _insecure = insecure;
        _trust = trust;
        _errors = errors;
        _log = log;
    }

    /// <summary>The scheme this registry answered on last time (see <see cref="RegistryEndpoints"/>); only a hint.</summary>
    public string? Hint { get; set; }

    /// <summary><c>https</c> or <c>http</c>: what the registry speaks (https until found out otherwise).</summary>
    public string Scheme => _scheme ?? Uri.UriSchemeHttps;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!IsRegistry(request.RequestUri))
        {
            return await SendCheckedAsync(request, cancellationToken);
        }

        if (_scheme is null)
        {
            await _gate.WaitAsync(cancellationToken);
            try
            {
                if (_scheme is null)
                {
                    return await FindOutAsync(request, cancellationToken);
                }
            }
            finally
            {
                _gate.Release();
            }
        }

        if (_scheme == Uri.UriSchemeHttp)
        {
            ToHttp(request);
        }

        return await SendCheckedAsync(request, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gate.Dispose();
        }

        base.Dispose(disposing);
    }

    private async Task<HttpResponseMessage> FindOutAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!_insecure.AllowsHttp(_registry))
        {
            _scheme = Uri.UriSchemeHttps;
            return await SendCheckedAsync(request, cancellationToken);
        }

        // Messages of our own for the second and third probes (a message is sent once); the caller's is the first.
        HttpRequestMessage? own = null;
        try
        {
            var message = request;
            if (Hint == Uri.UriSchemeHttp)
            {
                ToHttp(message);
                try
                {
                    var response = await base.SendAsync(message, cancellationToken);
                    if (response.IsSuccessStatusCode || response.StatusCode == System.Net.HttpStatusCode.Unauthorized)
                    {
                        _scheme = Uri.UriSchemeHttp;
                        return response;
                    }

                    _log.Detail($"{_registry} no longer answers over plain HTTP ({RegistryTransientException.Describe(response.StatusCode, response.ReasonPhrase, null)}); finding out again");
                    response.Dispose();
                }
                catch (Exception e) when (RetryPolicy.IsRetryable(e, cancellationToken))
                {
                    _log.Detail($"{_registry} no longer answers over plain HTTP ({RegistryTransientException.Describe(null, null, e)}); finding out again");
                }

                message = own = Again(request);
            }

            try
            {
                var response = await base.SendAsync(message, cancellationToken);
                // A TLS server answered: whatever it said, the registry speaks HTTPS.
                _scheme = Uri.UriSchemeHttps;
                return response;
            }
            catch (Exception e) when (RetryPolicy.IsRetryable(e, cancellationToken) && SawTls)
            {
                // A TLS server that failed this once: keep to HTTPS; the retry handler tries again as usual.
                _log.Detail($"{_registry}: {RegistryRequest.Of(request)?.What ?? "a request"} failed ({RegistryTransientException.Describe(null, null, e)}); trying again over HTTPS");
                _scheme = Uri.UriSchemeHttps;
                throw;
            }
            catch (Exception e) when ((RetryPolicy.IsRetryable(e, cancellationToken) || RetryPolicy.IsTlsFailure(e)) && !SawTls)
            {
                // No TLS server there (it answered in plain HTTP, or not at all): plain HTTP is allowed for this registry.
                _log.Detail($"{_registry} does not speak TLS ({RegistryTransientException.Describe(null, null, e)}); using plain HTTP, as allowed for {(_registry.IsLoopback ? "a registry on this machine" : "a registry listed as insecure")}.");
            }
            catch (Exception e) when (RetryPolicy.IsTlsFailure(e))
            {
                throw _errors.Untrusted(e);
            }

            own?.Dispose();
            message = own = Again(request);
            ToHttp(message);
            _scheme = Uri.UriSchemeHttp;
            return await base.SendAsync(message, cancellationToken);
        }
        finally
        {
            own?.Dispose();
        }
    }

    /// <summary>Whether a TLS server at the registry's host presented a certificate (so it does speak TLS).</summary>
    private bool SawTls => _trust?.Seen(TlsTrust.HostOf(_registry)) is not null;

    private async Task<HttpResponseMessage> SendCheckedAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await base.SendAsync(request, cancellationToken);
        }
        catch (Exception e) when (RetryPolicy.IsTlsFailure(e))
        {
            throw _errors.Untrusted(e);
        }
    }

    private static HttpRequestMessage Again(HttpRequestMessage request) =>
        RegistryRequest.Of(request)?.CreateMessage() ?? throw new InvalidOperationException("A registry request must be built by a RegistryRequest.");

    private bool IsRegistry(Uri? uri) =>
        uri is not null
        && string.Equals(uri.Host, _registry.Host, StringComparison.OrdinalIgnoreCase)
        && uri.Port == (_registry.Port ?? (uri.Scheme == Uri.UriSchemeHttp ? 80 : 443));

    /// <summary>Sends a request built for https over http instead (same host and port).</summary>
    private void ToHttp(HttpRequestMessage request)
    {
        if (request.RequestUri is { Scheme: "https" } uri)
        {
            request.RequestUri = new UriBuilder(uri) { Scheme = Uri.UriSchemeHttp, Port = _registry.Port ?? -1 }.Uri;
        }
    }
}
