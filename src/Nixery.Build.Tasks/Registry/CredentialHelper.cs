using System.Text.Json;
using Nixery.Build.Diagnostics;
using Nixery.Build.Processes;

namespace Nixery.Build.Registry;

/// <summary>
/// Runs a Docker credential helper (<c>docker-credential-&lt;name&gt; get</c>, the server name on stdin, JSON
/// <c>{"ServerURL","Username","Secret"}</c> on stdout) with the shared <see cref="ProcessRunner"/>: a helper is a
/// program by definition. Its stderr and stdout never reach a message (they may hold the secret); a helper that has
/// nothing for the server answers "credentials not found", which is not an error.
/// </summary>
public static class CredentialHelper
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static async Task<RegistryCredential?> GetAsync(string helper, string serverName, string? pathVariable, CancellationToken cancellationToken)
    {
        var program = "docker-credential-" + helper;
        var path = ProcessRunner.FindOnPath(program, pathVariable)
            ?? throw new NixImageException(
                ErrorCodes.RegistryCredentialsUnreadable,
                $"The credential helper '{program}' named in the Docker configuration for {serverName} is not on PATH. Install it, or remove it from credHelpers/credsStore.");

        ProcessResult result;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(Timeout);
            try
            {
                // Its stderr is not logged: it may hold the secret.
                result = await ProcessRunner.RunAsync(path, ["get"], _ => { }, timeout.Token, standardInput: serverName);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new NixImageException(ErrorCodes.RegistryCredentialsUnreadable, $"The credential helper '{program}' did not answer for {serverName} within {Timeout.TotalSeconds:0} s. Check that it works: echo {serverName} | {program} get");
            }
        }

        var output = result.StandardOutput;
        var error = string.Join('\n', result.StandardErrorTail);
        if (result.ExitCode != 0)
        {
            // The helpers' own phrase for "nothing stored for this server".
            if ((output + error).Contains("credentials not found", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            throw new NixImageException(ErrorCodes.RegistryCredentialsUnreadable, $"The credential helper '{program}' failed for {serverName} (exit code {result.ExitCode}). Check that it works: echo {serverName} | {program} get");
        }

        try
        {
            using var document = JsonDocument.Parse(output);
            var root = document.RootElement;
            var user = root.TryGetProperty("Username", out var u) ? u.GetString() : null;
            var secret = root.TryGetProperty("Secret", out var s) ? s.GetString() : null;
            if (string.IsNullOrEmpty(secret))
            {
                return null;
            }

            var source = $"credential helper {program}";
            // Docker's convention: the user name "<token>" marks an identity token.
            return user is null or "" or "<token>"
                ? RegistryCredential.FromIdentityToken(null, secret, source)
                : RegistryCredential.FromPassword(user, secret, source);
        }
        catch (JsonException)
        {
            throw new NixImageException(ErrorCodes.RegistryCredentialsUnreadable, $"The credential helper '{program}' answered for {serverName} with something that is not its JSON. Check that it works: echo {serverName} | {program} get");
        }
    }
}
