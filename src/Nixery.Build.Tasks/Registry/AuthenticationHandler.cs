using System.Net;

namespace Nixery.Build.Registry;

/// <summary>
/// Answers the registry's challenges, below the retry handler and above the scheme choice. A request that
/// authenticates (<see cref="RegistryRequest.Authenticate"/>) carries the <c>Authorization</c> the
/// <see cref="RegistryAuthenticator"/> gives for its scopes (none while anonymous); a 401 is answered once — the
/// challenge taken, the refused token dropped, the message built afresh (its body opened again) and sent with new
/// credentials or a new token — and a second 401, or a 403, is NIXIMG031. An anonymous request (the API check)
/// only lets the authenticator learn the challenge of its 401. Tokens are fetched through the next handler (scheme
/// choice, watchdog, transport), never through the distribution client, and the requests for them are not
/// authenticated here.
/// </summary>
internal sealed class AuthenticationHandler : DelegatingHandler
{
    private readonly RegistryAuthenticator _auth;
    private readonly RegistryErrors _errors;
    private readonly HttpMessageInvoker _tokenService;

    public AuthenticationHandler(RegistryAuthenticator auth, RegistryErrors errors, HttpMessageHandler inner)
        : base(inner)
    {
        _auth = auth;
        _errors = errors;
        _tokenService = new HttpMessageInvoker(inner, disposeHandler: false);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var registryRequest = RegistryRequest.Of(request);
        if (registryRequest is not { Authenticate: true })
        {
            var anonymous = await base.SendAsync(request, cancellationToken);
            if (anonymous.StatusCode == HttpStatusCode.Unauthorized)
            {
                _auth.Challenged(anonymous, sent: null);
            }

            return anonymous;
        }

        var sent = await _auth.AuthorizationAsync(registryRequest.Scopes, _tokenService, cancellationToken);
        request.Headers.Authorization = sent;
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            _auth.Challenged(response, sent);
            response.Dispose();
            using var again = registryRequest.CreateMessage();
            again.Headers.Authorization = await _auth.AuthorizationAsync(registryRequest.Scopes, _tokenService, cancellationToken);
            response = await base.SendAsync(again, cancellationToken);
        }

        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            var status = response.StatusCode;
            response.Dispose();
            throw _errors.Rejected(await _auth.CredentialAsync(cancellationToken), status, _errors.Action);
        }

        return response;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _tokenService.Dispose();
        }

        base.Dispose(disposing);
    }
}
