using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Registry;

/// <summary>
/// Answers a registry's <c>WWW-Authenticate</c> challenges for one push. Anonymous until challenged; then
/// <c>Basic</c> with the credentials found, or <c>Bearer</c> with a token from the challenge's realm for the scopes a
/// request needs (<c>repository:&lt;name&gt;:pull,push</c>, plus <c>repository:&lt;source&gt;:pull</c> to mount), cached per
/// scope set until it expires. A token service that returns a refresh token (or an identity token from the
/// credentials file) is asked with it (OAuth2 <c>grant_type=refresh_token</c>) from then on.
/// Credentials are looked up once, only when a challenge asks for them. Nothing here writes a secret anywhere
/// but into the request that needs it.
/// </summary>
internal sealed class RegistryAuthenticator : IDisposable
{
    private const string ClientId = "nixery-build";

    private readonly RegistryHost _registry;
    private readonly string _repository;
    private readonly CredentialStore _credentials;
    private readonly InsecureRegistries _insecure;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, (string Token, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);
    private readonly Lock _challengeGate = new();
    private Func<RegistryRequest, CancellationToken, Task<HttpResponseMessage>>? _send;
    private AuthChallenge? _challenge;
    private bool _credentialLoaded;
    private RegistryCredential? _credential;
    private string? _refreshToken;

    public RegistryAuthenticator(RegistryHost registry, string repository, CredentialStore credentials, InsecureRegistries insecure, TimeProvider time)
    {
        _registry = registry;
        _repository = repository;
        _credentials = credentials;
        _insecure = insecure;
        _time = time;
    }

    public void Dispose() => _gate.Dispose();

    /// <summary>How the token service is asked: through the client's retrying sender, without registry authentication.</summary>
    public void Connect(Func<RegistryRequest, CancellationToken, Task<HttpResponseMessage>> send) => _send = send;

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
    public async Task<AuthenticationHeaderValue?> AuthorizationAsync(IReadOnlyList<string> scopes, CancellationToken cancellationToken)
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
                throw Rejected(credential, HttpStatusCode.Unauthorized, "push to");
            }

            return new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.UserName}:{credential.Password}")));
        }

        if (challenge.IsBearer)
        {
            return new AuthenticationHeaderValue("Bearer", await TokenAsync(challenge, scopes, cancellationToken));
        }

        throw new NixImageException(
            ErrorCodes.RegistryAuthenticationFailed,
            $"The registry {_registry} asks for '{challenge.Scheme}' authentication to push to {_repository}, which Nixery.Build does not speak (only Basic and Bearer tokens). Push through a registry or proxy that accepts Basic or Bearer authentication.");
    }

    /// <summary>The error for credentials refused (or missing) on a request.</summary>
    public NixImageException Rejected(RegistryCredential? credential, HttpStatusCode status, string what)
    {
        var code = $"{(int)status} {status}";
        if (credential is null)
        {
            return new NixImageException(
                ErrorCodes.RegistryAuthenticationFailed,
                $"The registry {_registry} needs credentials to {what} {_repository} ({code}), and none were found. "
                + $"Set {CredentialStore.UserNameVariable} and {CredentialStore.PasswordVariable}, or log in with 'docker login {_registry}' or 'podman login {_registry}'.");
        }

        return new NixImageException(
            ErrorCodes.RegistryAuthenticationFailed,
            status == HttpStatusCode.Forbidden
                ? $"The registry {_registry} denied {credential} the right to {what} {_repository} ({code}). Check that this account may push to that repository."
                : $"The registry {_registry} refused {credential} for {_repository} ({code}). Check the user name and password (or token), or log in again.");
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

    private async Task<string> TokenAsync(AuthChallenge challenge, IReadOnlyList<string> requested, CancellationToken cancellationToken)
    {
        var scopes = requested.ToList();
        if (challenge["scope"] is { Length: > 0 } asked)
        {
            scopes.AddRange(asked.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }

        scopes = scopes.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
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
            var (token, lifetime) = await FetchTokenAsync(challenge, scopes, credential, cancellationToken);
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

    private async Task<(string Token, TimeSpan Lifetime)> FetchTokenAsync(AuthChallenge challenge, List<string> scopes, RegistryCredential? credential, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(challenge["realm"], UriKind.Absolute, out var realm) || (realm.Scheme != Uri.UriSchemeHttps && realm.Scheme != Uri.UriSchemeHttp))
        {
            throw new NixImageException(
                ErrorCodes.RegistryAuthenticationFailed,
                $"The registry {_registry} asks for a Bearer token but names no usable token service (realm). Check the registry's auth configuration.");
        }

        if (realm.Scheme == Uri.UriSchemeHttp && !_insecure.AllowsHttpRealm(realm))
        {
            throw new NixImageException(
                ErrorCodes.RegistryAuthenticationFailed,
                $"The registry {_registry} sends Nixery.Build to the token service {realm.GetLeftPart(UriPartial.Authority)} over plain HTTP, which would expose the credentials. "
                + "Use HTTPS for the token service, or list its host in ContainerInsecureRegistries if the network is trusted.");
        }

        var service = challenge["service"];
        var refreshToken = _refreshToken ?? credential?.IdentityToken;
        if (refreshToken is not null)
        {
            using var response = await SendTokenRequestAsync(() => RefreshRequest(realm, service, scopes, refreshToken), cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return await ReadTokenAsync(response, cancellationToken);
            }

            // A refresh token of our own that stopped working: ask again with the password, if there is one.
            if (_refreshToken is null || credential is not { HasPassword: true } || response.StatusCode is not (HttpStatusCode.BadRequest or HttpStatusCode.Unauthorized))
            {
                throw TokenRefused(response, credential);
            }

            _refreshToken = null;
        }

        using (var response = await SendTokenRequestAsync(() => PasswordRequest(realm, service, scopes, credential), cancellationToken))
        {
            if (!response.IsSuccessStatusCode)
            {
                throw TokenRefused(response, credential);
            }

            return await ReadTokenAsync(response, cancellationToken);
        }
    }

    private Task<HttpResponseMessage> SendTokenRequestAsync(Func<HttpRequestMessage> create, CancellationToken cancellationToken) =>
        (_send ?? throw new InvalidOperationException("The authenticator is not connected to a client."))(
            new RegistryRequest("get a token", create) { Authenticate = false },
            cancellationToken);

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
            throw new NixImageException(
                ErrorCodes.RegistryAuthenticationFailed,
                $"The token service of {_registry} answered with something that is not a token. Check the registry's auth configuration.");
        }
    }

    private NixImageException TokenRefused(HttpResponseMessage response, RegistryCredential? credential) =>
        response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.BadRequest
            ? Rejected(credential, response.StatusCode, "push to")
            : new NixImageException(
                ErrorCodes.RegistryRequestFailed,
                $"The token service of {_registry} answered {(int)response.StatusCode} {response.ReasonPhrase} when asked for a token for {_repository}. Check the registry's auth configuration and try again.");

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    private static List<string> HeaderValues(HttpResponseMessage response) =>
        response.Headers.NonValidated.TryGetValues("WWW-Authenticate", out var values) ? [.. values] : [];
}
