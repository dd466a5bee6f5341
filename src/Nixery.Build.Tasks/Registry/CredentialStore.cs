using System.Text;
using System.Text.Json;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Registry;

/// <summary>
/// Finds credentials for a registry, first match wins:
/// <list type="number">
/// <item><c>DOTNET_CONTAINER_REGISTRY_UNAME</c> and <c>DOTNET_CONTAINER_REGISTRY_PWORD</c> (as the .NET SDK reads them);</item>
/// <item>Docker's <c>config.json</c> (in <c>DOCKER_CONFIG</c>, else <c>~/.docker</c>): the registry's <c>credHelpers</c>
/// entry, then its <c>auths</c> entry (<c>auth</c>, <c>username</c>/<c>password</c> or <c>identitytoken</c>), then <c>credsStore</c>;</item>
/// <item>Podman's <c>auth.json</c> (<c>REGISTRY_AUTH_FILE</c>, else <c>$XDG_RUNTIME_DIR/containers/auth.json</c>), read the same way.</item>
/// </list>
/// The environment is passed in (the build's, or a test's), never read from the process directly.
/// </summary>
public sealed class CredentialStore
{
    public const string UserNameVariable = "DOTNET_CONTAINER_REGISTRY_UNAME";
    public const string PasswordVariable = "DOTNET_CONTAINER_REGISTRY_PWORD";

    private readonly Func<string, string?> _environment;
    private readonly Func<string, string, CancellationToken, Task<RegistryCredential?>> _runHelper;

    /// <param name="environment">Reads an environment variable of the build.</param>
    /// <param name="runHelper">Runs <c>docker-credential-&lt;helper&gt; get</c> for a server; the real one by default.</param>
    public CredentialStore(Func<string, string?> environment, Func<string, string, CancellationToken, Task<RegistryCredential?>>? runHelper = null)
    {
        _environment = environment;
        _runHelper = runHelper ?? ((helper, server, token) => CredentialHelper.GetAsync(helper, server, environment("PATH"), token));
    }

    /// <summary>The files read, in order: Docker's config, then Podman's auth file (whether they exist or not).</summary>
    public IReadOnlyList<string> ConfigFiles()
    {
        var files = new List<string>();
        var dockerConfig = NonEmpty(_environment("DOCKER_CONFIG"));
        var home = NonEmpty(_environment("HOME"));
        if (dockerConfig is not null)
        {
            files.Add(Path.Combine(dockerConfig, "config.json"));
        }
        else if (home is not null)
        {
            files.Add(Path.Combine(home, ".docker", "config.json"));
        }

        if (NonEmpty(_environment("REGISTRY_AUTH_FILE")) is { } authFile)
        {
            files.Add(authFile);
        }
        else if (NonEmpty(_environment("XDG_RUNTIME_DIR")) is { } runtime)
        {
            files.Add(Path.Combine(runtime, "containers", "auth.json"));
        }

        return files;
    }

    public async Task<RegistryCredential?> FindAsync(RegistryHost registry, string repository, CancellationToken cancellationToken)
    {
        var user = NonEmpty(_environment(UserNameVariable));
        var password = NonEmpty(_environment(PasswordVariable));
        if (user is not null && password is not null)
        {
            return RegistryCredential.FromPassword(user, password, $"{UserNameVariable}/{PasswordVariable}");
        }

        if (user is not null || password is not null)
        {
            throw new NixImageException(
                ErrorCodes.RegistryCredentialsUnreadable,
                $"Only one of {UserNameVariable} and {PasswordVariable} is set. Set both (user name and password or token), or neither.");
        }

        foreach (var file in ConfigFiles())
        {
            if (await FromFileAsync(file, registry, repository, cancellationToken) is { } credential)
            {
                return credential;
            }
        }

        return null;
    }

    private async Task<RegistryCredential?> FromFileAsync(string file, RegistryHost registry, string repository, CancellationToken cancellationToken)
    {
        if (!File.Exists(file))
        {
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(await File.ReadAllBytesAsync(file, cancellationToken));
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new NixImageException(
                ErrorCodes.RegistryCredentialsUnreadable,
                $"The credentials file '{file}' could not be read ({Describe(e)}). Fix or remove it, or log in again (docker login / podman login).");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new NixImageException(ErrorCodes.RegistryCredentialsUnreadable, $"The credentials file '{file}' does not hold a JSON object. Fix or remove it, or log in again (docker login / podman login).");
            }

            if (Match(root, "credHelpers", registry, repository) is { ValueKind: JsonValueKind.String } helper && NonEmpty(helper.GetString()) is { } helperName)
            {
                return await _runHelper(helperName, ServerUrl(registry), cancellationToken);
            }

            if (Match(root, "auths", registry, repository) is { ValueKind: JsonValueKind.Object } entry && FromAuthEntry(entry, file, registry) is { } credential)
            {
                return credential;
            }

            if (root.TryGetProperty("credsStore", out var store) && store.ValueKind == JsonValueKind.String && NonEmpty(store.GetString()) is { } storeName)
            {
                return await _runHelper(storeName, ServerUrl(registry), cancellationToken);
            }
        }

        return null;
    }

    private static RegistryCredential? FromAuthEntry(JsonElement entry, string file, RegistryHost registry)
    {
        string? user = null;
        string? password = null;
        if (String(entry, "auth") is { } auth)
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(auth));
            }
            catch (FormatException)
            {
                throw new NixImageException(ErrorCodes.RegistryCredentialsUnreadable, $"The 'auth' entry for {registry} in '{file}' is not base64 of user:password. Log in again (docker login / podman login).");
            }

            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new NixImageException(ErrorCodes.RegistryCredentialsUnreadable, $"The 'auth' entry for {registry} in '{file}' is not base64 of user:password. Log in again (docker login / podman login).");
            }

            user = decoded[..colon];
            password = decoded[(colon + 1)..];
        }
        else
        {
            user = String(entry, "username");
            password = String(entry, "password");
        }

        if (String(entry, "identitytoken") is { } token)
        {
            return RegistryCredential.FromIdentityToken(user, token, $"'{file}' (identitytoken)");
        }

        return user is not null && password is not null ? RegistryCredential.FromPassword(user, password, $"'{file}'") : null;
    }

    /// <summary>
    /// The entry of a map keyed by registry: the most specific key that names this registry, written as
    /// <c>host[:port]</c>, with a scheme or Docker's <c>/v1/</c> path, or (Podman) <c>host/namespace</c> above the repository.
    /// </summary>
    private static JsonElement? Match(JsonElement root, string map, RegistryHost registry, string repository)
    {
        if (!root.TryGetProperty(map, out var entries) || entries.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        JsonElement? best = null;
        var bestLength = -1;
        foreach (var property in entries.EnumerateObject())
        {
            var (host, path) = NormalizeKey(property.Name);
            if (Canonical(host) != Canonical(registry.Name))
            {
                continue;
            }

            if (path.Length > 0 && repository != path && !repository.StartsWith(path + "/", StringComparison.Ordinal))
            {
                continue;
            }

            if (path.Length > bestLength)
            {
                best = property.Value;
                bestLength = path.Length;
            }
        }

        return best;
    }

    /// <summary>Docker Hub is written three ways (docker login keeps its credentials under <c>https://index.docker.io/v1/</c>); the API's host is the one name.</summary>
    private static string Canonical(string host) => host is "docker.io" or "index.docker.io" ? ImageReference.DockerHubApi : host;

    /// <summary>What a credential helper is asked for: Docker Hub's key as docker login stores it, else the registry's name.</summary>
    private static string ServerUrl(RegistryHost registry) =>
        registry.Name == ImageReference.DockerHubApi ? "https://index.docker.io/v1/" : registry.Name;

    internal static (string Host, string Path) NormalizeKey(string key)
    {
        var text = key.Trim();
        foreach (var scheme in new[] { "https://", "http://" })
        {
            if (text.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                text = text[scheme.Length..];
            }
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var host = (slash < 0 ? text : text[..slash]).ToLowerInvariant();
        var path = slash < 0 ? string.Empty : text[(slash + 1)..].Trim('/');
        if (path is "v1" or "v2")
        {
            path = string.Empty;
        }

        return (host, path);
    }

    private static string? String(JsonElement entry, string name) =>
        entry.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? NonEmpty(value.GetString()) : null;

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    // A JsonException's message quotes no content, only a position; IO messages name the file.
    private static string Describe(Exception e) => e is JsonException json ? $"not JSON: line {json.LineNumber + 1}" : e.Message;
}
