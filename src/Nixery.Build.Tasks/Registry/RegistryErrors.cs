using System.Net;
using System.Net.Security;
using System.Text.Json;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Registry;

/// <summary>What a connection to a repository is for: pushing the image, or pulling a base image (read-only scopes).</summary>
public enum RegistryAccess
{
    Push,
    Pull,
}

/// <summary>
/// Words every coded error about a registry's answers or silence for one push: which registry, which repository,
/// which request, what came back, and what to do. The handlers and the distribution client decide that something
/// failed; only this class says so. No message includes a header, a token, a password or a request body.
/// </summary>
internal sealed class RegistryErrors
{
    private readonly RegistryHost _registry;
    private readonly string _repository;
    private readonly TlsTrust? _trust;
    private readonly Func<string> _scheme;
    private readonly RegistryAccess _access;

    /// <param name="scheme">The scheme the push speaks to the registry (https until it is found to be http).</param>
    /// <param name="access">Whether the connection pushes the image or pulls a base image: what the messages say was (not) done.</param>
    public RegistryErrors(RegistryHost registry, string repository, TlsTrust? trust, Func<string> scheme, RegistryAccess access = RegistryAccess.Push)
    {
        _registry = registry;
        _repository = repository;
        _trust = trust;
        _scheme = scheme;
        _access = access;
    }

    /// <summary>What the connection does to the repository, for messages: <c>push to</c> or <c>pull from</c>.</summary>
    public string Action => _access == RegistryAccess.Pull ? "pull from" : "push to";

    /// <summary>What a failed request left undone.</summary>
    private string NothingTagged => _access == RegistryAccess.Pull
        ? "The base image (ContainerBaseImage) could not be pulled, so no image was built."
        : "Nothing was tagged: the image's tags still point where they did.";

    /// <summary>An answer that is not what the request needed (NIXIMG035), with the registry's own error codes when it sent them.</summary>
    public async Task<NixImageException> FailedAsync(HttpResponseMessage response, string what, int attempts, string? remedy = null)
    {
        var detail = await ErrorDetailAsync(response);
        var status = $"{(int)response.StatusCode} {response.ReasonPhrase ?? response.StatusCode.ToString()}";
        return new NixImageException(
            ErrorCodes.RegistryRequestFailed,
            $"The registry {_registry} answered {status}{detail} to '{what}' for {_repository}{(attempts > 1 ? ", " + Tries(attempts) : string.Empty)}. {remedy ?? RemedyFor(response.StatusCode)} {NothingTagged}");
    }

    /// <summary>An answer longer than it may be (NIXIMG035): a manifest, index, token or error body over 4 MiB, or a blob past its declared size.</summary>
    public NixImageException TooLarge(RegistryAnswerTooLargeException e) => new(
        ErrorCodes.RegistryRequestFailed,
        $"The registry {_registry} answered '{e.What}' for {_repository} with more than {e.Limit} bytes, more than that answer may have (manifests, indexes and tokens: 4 MiB; a blob: its declared size), so it was not read further. "
        + $"Check that {_registry} is the registry meant and that it is not broken or hostile. {NothingTagged}");

    /// <summary>The error after the last try of a request that never got a usable answer (NIXIMG035 with a status, else NIXIMG033).</summary>
    public NixImageException GiveUp(RegistryTransientException failure, int attempts)
    {
        if (failure.Status is { } status)
        {
            return new NixImageException(
                ErrorCodes.RegistryRequestFailed,
                $"The registry {_registry} answered {failure.Message} to '{failure.What}' for {_repository}, {Tries(attempts)}. {RemedyFor(status)} {NothingTagged}");
        }

        return new NixImageException(
            ErrorCodes.RegistryUnreachable,
            $"The registry {_registry} could not be reached to '{failure.What}' for {_repository} ({failure.Message}), {Tries(attempts)}. Check that it runs at {_registry.BaseUri(_scheme()).GetLeftPart(UriPartial.Authority)} and that the network lets this machine reach it. {NothingTagged}");
    }

    /// <summary>A TLS handshake that failed on the certificate (NIXIMG034).</summary>
    public NixImageException Untrusted(Exception e)
    {
        // Our own callback's verdict says more than the exception ("rejected by the provided callback").
        var why = _trust?.Seen(TlsTrust.HostOf(_registry)) switch
        {
            { } seen when seen.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) => $"it is not issued for {_registry.Host}",
            { } seen when seen.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors) => "it is not signed by a certificate authority this machine trusts",
            { } seen when seen.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable) => "the registry presented none",
            _ => Innermost(e).Message,
        };
        return new NixImageException(
            ErrorCodes.RegistryCertificateUntrusted,
            $"The TLS certificate of the registry {_registry} is not trusted: {why.TrimEnd('.')}. "
            + "Add its CA to the system's trust store, or point SSL_CERT_FILE (a PEM bundle) or SSL_CERT_DIR at it; for a test registry, list it in ContainerInsecureRegistries.");
    }

    /// <summary>The registry reports another digest for what it stored than the one sent (NIXIMG036).</summary>
    public NixImageException DigestMismatch(string what, string reported, Oci.Digest expected) => new(
        ErrorCodes.RegistryDigestMismatch,
        $"The registry {_registry} stored '{what}' for {_repository} as {reported}, but Nixery.Build sent {expected}. The bytes changed on the way (a proxy rewriting them?) or the registry is faulty; push again, and check what sits between this machine and the registry.");

    /// <summary>An upload answer without a Location to go on with.</summary>
    public NixImageException UnusableLocation(FormatException e) => new(
        ErrorCodes.RegistryRequestFailed,
        $"The registry {_registry} answered a request for {_repository} (an upload or a redirect) without a usable Location ({e.Message}) Check that it implements the OCI distribution API. {NothingTagged}");

    /// <summary>Credentials refused (or missing) on a request (NIXIMG031).</summary>
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
                ? $"The registry {_registry} denied {credential} the right to {what} {_repository} ({code}). Check that this account may {Action} that repository."
                : $"The registry {_registry} refused {credential} for {_repository} ({code}). Check the user name and password (or token), or log in again.");
    }

    public NixImageException UnsupportedAuthentication(string scheme) => new(
        ErrorCodes.RegistryAuthenticationFailed,
        $"The registry {_registry} asks for '{scheme}' authentication to {Action} {_repository}, which Nixery.Build does not speak (only Basic and Bearer tokens). Use a registry or proxy that accepts Basic or Bearer authentication.");

    public NixImageException NoTokenService() => new(
        ErrorCodes.RegistryAuthenticationFailed,
        $"The registry {_registry} asks for a Bearer token but names no usable token service (realm). Check the registry's auth configuration.");

    public NixImageException TokenServiceOverPlainHttp(Uri realm) => new(
        ErrorCodes.RegistryAuthenticationFailed,
        $"The registry {_registry} sends Nixery.Build to the token service {realm.GetLeftPart(UriPartial.Authority)} over plain HTTP, which would expose the credentials. "
        + "Use HTTPS for the token service, or list its host in ContainerInsecureRegistries if the network is trusted.");

    public NixImageException NotAToken() => new(
        ErrorCodes.RegistryAuthenticationFailed,
        $"The token service of {_registry} answered with something that is not a token. Check the registry's auth configuration.");

    /// <summary>A token service that said no: refused credentials (NIXIMG031), or another failure (NIXIMG035).</summary>
    public NixImageException TokenRefused(HttpResponseMessage response, RegistryCredential? credential) =>
        response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.BadRequest
            ? Rejected(credential, response.StatusCode, Action)
            : new NixImageException(
                ErrorCodes.RegistryRequestFailed,
                $"The token service of {_registry} answered {(int)response.StatusCode} {response.ReasonPhrase} when asked for a token for {_repository}. Check the registry's auth configuration and try again.");

    private static string Tries(int attempts) => attempts == 1 ? "on the only try" : $"after {attempts} tries";

    private static string RemedyFor(HttpStatusCode status) => (int)status >= 500 || status == HttpStatusCode.TooManyRequests
        ? "The registry is failing or overloaded: try again later, or check its logs."
        : "Check the repository name and the registry's limits and configuration.";

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }

    /// <summary>The first few <c>code: message</c> pairs of the distribution API's error document, if the body is one.</summary>
    private static async Task<string> ErrorDetailAsync(HttpResponseMessage response)
    {
        try
        {
            var body = await response.Content.ReadAsByteArrayAsync();
            if (body.Length == 0 || body.Length > 64 * 1024)
            {
                return string.Empty;
            }

            using var document = JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
            {
                var parts = errors.EnumerateArray()
                    .Select(e => $"{Text(e, "code")}: {Text(e, "message")}".Trim(' ', ':'))
                    .Where(p => p.Length > 0)
                    .Take(3)
                    .ToList();
                return parts.Count == 0 ? string.Empty : " (" + string.Join("; ", parts) + ")";
            }
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or IOException or ObjectDisposedException)
        {
            // Not the distribution API's error document: the status says enough.
        }

        return string.Empty;

        static string Text(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : string.Empty;
    }
}
