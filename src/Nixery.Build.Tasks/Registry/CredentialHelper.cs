using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Registry;

/// <summary>
/// Runs a Docker credential helper (<c>docker-credential-&lt;name&gt; get</c>, the server name on stdin, JSON
/// <c>{"ServerURL","Username","Secret"}</c> on stdout). The one process Registry/ starts: a helper is a program
/// by definition. Its stderr and stdout never reach a message (they may hold the secret); a helper that has
/// nothing for the server answers "credentials not found", which is not an error.
/// </summary>
public static class CredentialHelper
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static async Task<RegistryCredential?> GetAsync(string helper, string serverName, string? pathVariable, CancellationToken cancellationToken)
    {
        var program = "docker-credential-" + helper;
        var path = FindOnPath(program, pathVariable)
            ?? throw new NixImageException(
                ErrorCodes.RegistryCredentialsUnreadable,
                $"The credential helper '{program}' named in the Docker configuration for {serverName} is not on PATH. Install it, or remove it from credHelpers/credsStore.");

        var start = new ProcessStartInfo(path)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("get");
        using var process = new Process { StartInfo = start };
        process.Start();
        await process.StandardInput.WriteAsync(serverName);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(Timeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                cancellationToken.ThrowIfCancellationRequested();
                throw new NixImageException(ErrorCodes.RegistryCredentialsUnreadable, $"The credential helper '{program}' did not answer for {serverName} within {Timeout.TotalSeconds:0} s. Check that it works: echo {serverName} | {program} get");
            }
        }

        var output = await stdout;
        var error = await stderr;
        if (process.ExitCode != 0)
        {
            // The helpers' own phrase for "nothing stored for this server".
            if ((output + error).Contains("credentials not found", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            throw new NixImageException(ErrorCodes.RegistryCredentialsUnreadable, $"The credential helper '{program}' failed for {serverName} (exit code {process.ExitCode}). Check that it works: echo {serverName} | {program} get");
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

    private static string? FindOnPath(string program, string? pathVariable)
    {
        foreach (var directory in (pathVariable ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
