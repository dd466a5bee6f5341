using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Nixery.Build.Registry;

/// <summary>
/// Answers a registry's <c>WWW-Authenticate</c> challenges for one push. Anonymous until challenged; then
/// <c>Basic</c> with the credentials found, or <c>Bearer</c> with a token from the challenge's realm for the scopes a
/// request needs (<c>repository:&lt;name&gt;:pull,push</c>, plus <c>repository:&lt;source&gt;:pull</c> to mount), cached per
/// scope set until it expires. A token service that returns a refresh token (or an identity token from the
/// credentials file) is asked with it (OAuth2 <c>grant_type=refresh_token</c>) from then on.
/// Credentials are looked up once, only when a challenge asks for them. Nothing here writes a secret anywhere
/// but into the request that needs it. The <see cref="AuthenticationHandler"/> asks it for headers and tells it of
/// challenges; token requests go out through the invoker that handler passes in (the rest of the chain below it).
/// </summary>
internal sealed class RegistryAuthenticator : IDisposable
{
    private const string ClientId = "nixery-build";

    private readonly RegistryHost _registry;
    private readonly string _repository;
    private readonly RegistryErrors _errors;
    private readonly CredentialStore _credentials;
    private readonly InsecureRegistries _insecure;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, (string Token, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);
    private readonly Lock _challengeGate = new();
    private AuthChallenge? _challenge;
    private bool _credentialLoaded;
    private RegistryCredential? _credential;
    private string? _refreshToken;

    public RegistryAuthenticator(RegistryHost registry, string repository, RegistryErrors errors, CredentialStore credentials, InsecureRegistries insecure, TimeProvider time)
    {
        _registry = registry;
        _repository = repository;
        _errors = errors;
        _credentials = credentials;
        _insecure = insecure;
        _time = time;
    }

    public void Dispose() => _gate.Dispose();

    /// <summary>The challenge in force (null: anonymous so far).</summary>
    public AuthChallenge? Challenge
    {
        get
        {
            lock (_challengeGate)
            {
                return _challenge;
            }
        }
    }

    /// <summary>Takes the challenge of a 401. Drops the token that was refused so the next request gets a fresh one.</summary>
    public void Challenged(HttpResponseMessage response, AuthenticationHeaderValue? sent)
    {
        var challenge = AuthChallenge.Preferred(AuthChallenge.Parse(HeaderValues(response)));
        lock (_challengeGate)
        {
            if (challenge is not null)
            {
                _challenge = challenge;
            }
        }

        if (sent?.Parameter is { } refused)
        {
            lock (_tokens)
            {
                foreach (var key in _tokens.Where(t => t.Value.Token == refused).Select(t => t.Key).ToList())
                {
                    _tokens.Remove(key);
                }
            }
        }
    }

    /// <summary>The Authorization header for a request needing <paramref name="scopes"/>, or null while anonymous.</summary>
    /// <param name="tokenService">Sends the token requests (a Bearer challenge's realm).</param>
    public async Task<AuthenticationHeaderValue?> AuthorizationAsync(IReadOnlyList<string> scopes, HttpMessageInvoker tokenService, CancellationToken cancellationToken)
    {
        var challenge = Challenge;
        if (challenge is null)
        {
            return null;
        }

        if (challenge.IsBasic)
        {
            var credential = await CredentialAsync(cancellationToken);
            if (credential is not { HasPassword: true })
            {
                throw _errors.Rejected(credential, HttpStatusCode.Unauthorized, _errors.Action);
            }

            return new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.UserName}:{credential.Password}")));
        }

        if (challenge.IsBearer)
        {
            return new AuthenticationHeaderValue("Bearer", await TokenAsync(challenge, scopes, tokenService, cancellationToken));
        }

        throw _errors.UnsupportedAuthentication(challenge.Scheme);
    }

    /// <summary>The credentials found for this registry (looked up once).</summary>
    public async Task<RegistryCredential?> CredentialAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _credentialLoaded))
        {
            return _credential;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await LoadCredentialAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<RegistryCredential?> LoadCredentialAsync(CancellationToken cancellationToken)
    {
        if (!_credentialLoaded)
        {
            _credential = await _credentials.FindAsync(_registry, _repository, cancellationToken);
            Volatile.Write(ref _credentialLoaded, true);
        }

        return _credential;
    }

    private async Task<string> TokenAsync(AuthChallenge challenge, IReadOnlyList<string> requested, HttpMessageInvoker tokenService, CancellationToken cancellationToken)
    {
        // Only the scopes this build needs (repository:<name>:pull,push, or :pull for a base image, and a mount's source
        // :pull), never one the challenge names besides: a registry does not decide what the build's credentials ask for.
        // Real registries (Docker Hub, GHCR, ECR, the distribution registry) name the same repository and actions.
        var scopes = requested.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var key = (challenge["realm"] ?? string.Empty) + " " + string.Join(' ', scopes);
        if (Cached(key) is { } cached)
        {
            return cached;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Cached(key) is { } again)
            {
                return again;
            }

            var credential = await LoadCredentialAsync(cancellationToken);
            var (token, lifetime) = await FetchTokenAsync(challenge, scopes, credential, tokenService, cancellationToken);
            lock (_tokens)
            {
                // Renew a little before the service says it runs out.
                _tokens[key] = (token, _time.GetUtcNow() + lifetime - TimeSpan.FromSeconds(Math.Min(10, lifetime.TotalSeconds / 4)));
            }

            return token;
        }
        finally
        {
            _gate.Release();
        }
    }

    private string? Cached(string key)
    {
        lock (_tokens)
        {
            return _tokens.TryGetValue(key, out var entry) && entry.Expires > _time.GetUtcNow() ? entry.Token : null;
        }
    }

    private async Task<(string Token, TimeSpan Lifetime)> FetchTokenAsync(AuthChallenge challenge, List<string> scopes, RegistryCredential? credential, HttpMessageInvoker tokenService, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(challenge["realm"], UriKind.Absolute, out var realm) || (realm.Scheme != Uri.UriSchemeHttps && realm.Scheme != Uri.UriSchemeHttp))
        {
            throw _errors.NoTokenService();
        }

        if (realm.Scheme == Uri.UriSchemeHttp && !_insecure.AllowsHttpRealm(realm))
        {
            throw _errors.TokenServiceOverPlainHttp(realm);
        }

        var service = challenge["service"];
        var refreshToken = _refreshToken ?? credential?.IdentityToken;
        if (refreshToken is not null)
        {
            using var response = await SendTokenRequestAsync(tokenService, () => RefreshRequest(realm, service, scopes, refreshToken), cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return await ReadTokenAsync(response, cancellationToken);
            }

            // A refresh token of our own that stopped working: ask again with the password, if there is one.
            if (_refreshToken is null || credential is not { HasPassword: true } || response.StatusCode is not (HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized))
            {
                throw _errors.TokenRefused(response, credential);
            }

            _refreshToken = null;
        }

        using (var response = await SendTokenRequestAsync(tokenService, () => PasswordRequest(realm, service, scopes, credential), cancellationToken))
        {
            if (!response.IsSuccessStatusCode)
            {
                throw _errors.TokenRefused(response, credential);
            }

            return await ReadTokenAsync(response, cancellationToken);
        }
    }

    /// <summary>
    /// One try at the token service. An answer worth another try (5xx, 429, 408) is thrown as a
    /// <see cref="RegistryTransientException"/>, as is a broken connection (by the handlers below): the retry handler
    /// above tries the whole request again, token and all.
    /// </summary>
    private static async Task<HttpResponseMessage> SendTokenRequestAsync(HttpMessageInvoker tokenService, Func<HttpRequestMessage> create, CancellationToken cancellationToken)
    {
        const string What = "get a token";
        using var message = new RegistryRequest(What, create) { Authenticate = false }.CreateMessage();
        var response = await tokenService.SendAsync(message, cancellationToken);
        if (RetryPolicy.IsRetryable(response.StatusCode))
        {
            using (response)
            {
                throw new RegistryTransientException(What, response.StatusCode, response.ReasonPhrase, response.Headers.RetryAfter?.Delta, null);
            }
        }

        return response;
    }

    private static HttpRequestMessage RefreshRequest(Uri realm, string? service, List<string> scopes, string refreshToken)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "refresh_token"),
            new("refresh_token", refreshToken),
            new("client_id", ClientId),
        };
        if (service is not null)
        {
            form.Add(new("service", service));
        }

        if (scopes.Count > 0)
        {
            form.Add(new("scope", string.Join(' ', scopes)));
        }

        return new HttpRequestMessage(HttpMethod.Post, realm) { Content = new FormUrlEncodedContent(form) };
    }

    private static HttpRequestMessage PasswordRequest(Uri realm, string? service, List<string> scopes, RegistryCredential? credential)
    {
        var query = new List<string>();
        if (service is not null)
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }

        query.AddRange(scopes.Select(s => "scope=" + Uri.EscapeDataString(s)));
        if (credential is { HasPassword: true })
        {
            // Ask for a refresh token too, so later scopes need not send the password again.
            query.Add("offline_token=true");
            query.Add("client_id=" + ClientId);
        }

        var builder = new UriBuilder(realm);
        var existing = builder.Query.TrimStart('?');
        builder.Query = string.Join('&', query.Prepend(existing).Where(q => q.Length > 0));
        var request = new HttpRequestMessage(HttpMethod.Get, builder.Uri);
        if (credential is { HasPassword: true })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.UserName}:{credential.Password}")));
        }

        return request;
    }

    private async Task<(string Token, TimeSpan Lifetime)> ReadTokenAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            using var document = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
            var root = document.RootElement;
            var token = Text(root, "token") ?? Text(root, "access_token")
                ?? throw new JsonException("no token");
            var lifetime = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) && seconds > 0 ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromSeconds(60);
            if (Text(root, "refresh_token") is { } refresh)
            {
                _refreshToken = refresh;
            }

            return (token, lifetime);
        }
        catch (JsonException)
        {
            throw _errors.NotAToken();
        }
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    private static List<string> HeaderValues(HttpResponseMessage response) =>
        response.Headers.NonValidated.TryGetValues("WWW-Authenticate", out var values) ? [.. values] : [];
}
