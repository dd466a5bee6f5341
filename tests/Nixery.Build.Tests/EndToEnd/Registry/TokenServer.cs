using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Nixery.Build.Tests.EndToEnd.Registry;

/// <summary>One request the token server answered.</summary>
public sealed record TokenRequest(string Method, string GrantType, string? User, IReadOnlyList<string> Scopes, int Status)
{
    public override string ToString() => $"{Method} {GrantType} user={User ?? "-"} scopes=[{string.Join(' ', Scopes)}] → {Status}";
}

/// <summary>
/// A small OAuth2-style token service for the registry's <c>auth: token</c> mode, on 127.0.0.1 (HttpListener):
/// <c>GET /token?service=…&amp;scope=…</c> with Basic credentials (or none), and <c>POST /token</c> with
/// <c>grant_type=refresh_token</c> or <c>password</c>. Issues RS256 JWTs whose <c>x5c</c> header carries the signing
/// certificate, which the registry trusts through its <c>rootcertbundle</c>. Known users get every action they ask
/// for; anonymous callers get nothing. With <c>offline_token=true</c> it hands out a refresh token as well.
/// Records every request so tests can check scopes and grant types.
/// </summary>
public sealed class TokenServer : LoopbackHttpServer
{
    public const string Service = "nixery-test-registry";
    public const string Issuer = "nixery-test-issuer";

    private readonly TestCertificates _certificates;
    private readonly IReadOnlyDictionary<string, string> _users;
    private readonly ConcurrentDictionary<string, string> _refreshTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<TokenRequest> _requests = new();

    public TokenServer(TestCertificates certificates, IReadOnlyDictionary<string, string> users)
    {
        _certificates = certificates;
        _users = users;
        Start();
    }

    public string Realm => $"http://127.0.0.1:{Port}/token";

    public IReadOnlyList<TokenRequest> Requests => [.. _requests];

    /// <summary>A refresh token for a user, as <c>docker login</c> would store it as identitytoken.</summary>
    public string IssueRefreshToken(string user)
    {
        var token = "refresh-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _refreshTokens[token] = user;
        return token;
    }

    protected override async Task AnswerAsync(HttpListenerContext context)
    {
        var request = context.Request;
        string? user = null;
        string grant;
        List<string> scopes;
        var offline = false;
        if (request.HttpMethod == "POST")
        {
            using var reader = new StreamReader(request.InputStream, Encoding.UTF8);
            var form = ParseForm(await reader.ReadToEndAsync());
            grant = form.GetValueOrDefault("grant_type") ?? string.Empty;
            scopes = (form.GetValueOrDefault("scope") ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
            if (grant == "refresh_token" && _refreshTokens.TryGetValue(form.GetValueOrDefault("refresh_token") ?? string.Empty, out var owner))
            {
                user = owner;
            }
            else if (grant == "password" && Valid(form.GetValueOrDefault("username"), form.GetValueOrDefault("password")))
            {
                user = form["username"];
                offline = true;
            }
            else
            {
                await RespondAsync(context, new TokenRequest("POST", grant, null, scopes, 401), 401, """{"error":"invalid_grant"}""");
                return;
            }
        }
        else
        {
            grant = "basic";
            scopes = request.QueryString.GetValues("scope")?.SelectMany(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList() ?? [];
            offline = request.QueryString["offline_token"] == "true";
            var header = request.Headers["Authorization"];
            if (header is not null)
            {
                var decoded = header.StartsWith("Basic ", StringComparison.Ordinal)
                    ? Encoding.UTF8.GetString(Convert.FromBase64String(header["Basic ".Length..]))
                    : string.Empty;
                var colon = decoded.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0 || !Valid(decoded[..colon], decoded[(colon + 1)..]))
                {
                    await RespondAsync(context, new TokenRequest("GET", grant, null, scopes, 401), 401, """{"details":"wrong credentials"}""");
                    return;
                }

                user = decoded[..colon];
            }
            else
            {
                grant = "anonymous";
            }
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var access = user is null
            ? []
            : scopes.Select(Access).Where(a => a is not null).ToList();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["sub"] = user ?? string.Empty,
            ["aud"] = request.QueryString["service"] ?? Service,
            ["exp"] = now + 300,
            ["nbf"] = now - 10,
            ["iat"] = now,
            ["jti"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            ["access"] = access,
        };
        var body = new Dictionary<string, object> { ["token"] = Sign(claims), ["expires_in"] = 300 };
        if (offline && user is not null)
        {
            body["refresh_token"] = IssueRefreshToken(user);
        }

        await RespondAsync(context, new TokenRequest(request.HttpMethod, grant, user, scopes, 200), 200, JsonSerializer.Serialize(body));
    }

    private bool Valid(string? user, string? password) =>
        user is not null && password is not null && _users.TryGetValue(user, out var expected) && expected == password;

    private static Dictionary<string, object>? Access(string scope)
    {
        // repository:<name>:<actions>; the name may hold ':' only in a port, which repositories do not have.
        var parts = scope.Split(':');
        return parts.Length == 3 && parts[0] == "repository"
            ? new Dictionary<string, object> { ["type"] = "repository", ["name"] = parts[1], ["actions"] = parts[2].Split(',') }
            : null;
    }

    private string Sign(Dictionary<string, object> claims)
    {
        var header = new Dictionary<string, object>
        {
            ["typ"] = "JWT",
            ["alg"] = "RS256",
            ["x5c"] = new[] { Convert.ToBase64String(_certificates.SigningCertificate.RawData) },
        };
        var signed = Base64Url(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = _certificates.SigningKey.SignData(Encoding.ASCII.GetBytes(signed), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signed + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static Dictionary<string, string> ParseForm(string body) =>
        body.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0].Replace('+', ' ')), p => p.Length > 1 ? Uri.UnescapeDataString(p[1].Replace('+', ' ')) : string.Empty, StringComparer.Ordinal);

    private async Task RespondAsync(HttpListenerContext context, TokenRequest record, int status, string json)
    {
        _requests.Enqueue(record);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes(json);
        context.Response.ContentLength64 = bytes.Length;
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }
}
