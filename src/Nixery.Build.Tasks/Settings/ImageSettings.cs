using System.Globalization;
using System.Text.RegularExpressions;
using Nixery.Build.Diagnostics;
using Nixery.Build.Engines;

namespace Nixery.Build.Settings;

/// <summary>Manifest and config media types: OCI (the default) or Docker's v2 schema 2.</summary>
public enum ImageFormat
{
    Oci,
    Docker,
}

/// <summary>
/// The SDK-compatible image settings (ContainerPort, ContainerEnvironmentVariable, ContainerLabel,
/// ContainerUser, ContainerAppCommand...): validation with errors that quote the bad value, and the
/// SDK's rules for turning app command, arguments and instruction into Entrypoint and Cmd.
/// </summary>
public static partial class ImageSettings
{
    public const string DefaultAppCommandInstruction = "Entrypoint";

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvironmentName();

    // Reverse-DNS style keys as the OCI annotation rules and Docker's label guide use them.
    [GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex LabelKey();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?$", RegexOptions.CultureInvariant)]
    private static partial Regex UserSpec();

    [GeneratedRegex(@"^\w+://(?:[^/]*?):(?<port>\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex UrlWithPort();

    /// <summary><c>8080</c> + <c>tcp</c> → <c>8080/tcp</c>. The type defaults to tcp.</summary>
    public static string Port(string number, string? type)
    {
        var protocol = string.IsNullOrWhiteSpace(type) ? "tcp" : type.Trim().ToLowerInvariant();
        if (!int.TryParse(number.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new NixImageException(ErrorCodes.InvalidPort, $"ContainerPort '{number}' is not a port number from 1 to 65535. Use e.g. <ContainerPort Include=\"8080\" Type=\"tcp\" />.");
        }

        if (protocol is not ("tcp" or "udp"))
        {
            throw new NixImageException(ErrorCodes.InvalidPort, $"ContainerPort {number} has Type '{type}'; it must be tcp or udp.");
        }

        return $"{port.ToString(CultureInfo.InvariantCulture)}/{protocol}";
    }

    public static void ValidateEnvironmentName(string name)
    {
        if (!EnvironmentName().IsMatch(name))
        {
            throw new NixImageException(
                ErrorCodes.InvalidEnvironmentVariable,
                $"ContainerEnvironmentVariable '{name}' is not a valid variable name. Use letters, digits and '_', not starting with a digit.");
        }
    }

    public static void ValidateLabelKey(string key)
    {
        if (key.Length > 255 || !LabelKey().IsMatch(key))
        {
            throw new NixImageException(
                ErrorCodes.InvalidLabel,
                $"ContainerLabel '{key}' is not a valid label key. Use letters, digits, '.', '-', '_' and '/', starting and ending with a letter or digit (e.g. org.example.team).");
        }
    }

    /// <summary>
    /// A user the image can run as: a uid or gid from 0 to 2147483647 (what runtimes accept), or a name that the
    /// image's <c>/etc/passwd</c> (<c>/etc/group</c> for the group) has.
    /// </summary>
    /// <param name="namesKnown">False on a base image: its users are not known before it is pulled, so only ids and the form are checked.</param>
    public static void ValidateUser(string user, bool namesKnown = true)
    {
        if (!UserSpec().IsMatch(user))
        {
            throw new NixImageException(
                ErrorCodes.InvalidUser,
                $"ContainerUser '{user}' is not a user. Use a name or uid, optionally with ':group' or ':gid' (e.g. app, 1654, 1000:1000, root).");
        }

        var colon = user.IndexOf(':', StringComparison.Ordinal);
        CheckPart(colon < 0 ? user : user[..colon], "user", Layers.UserDatabase.UserNames);
        if (colon >= 0)
        {
            CheckPart(user[(colon + 1)..], "group", Layers.UserDatabase.GroupNames);
        }

        void CheckPart(string part, string kind, IReadOnlyCollection<string> names)
        {
            if (part.All(char.IsAsciiDigit))
            {
                if (!int.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
                {
                    throw new NixImageException(
                        ErrorCodes.InvalidUser,
                        $"ContainerUser '{user}': {kind} id {part} is out of range; ids go from 0 to {int.MaxValue}. Use a smaller id, such as 1654 (app).");
                }
            }
            else if (namesKnown && !names.Contains(part))
            {
                throw new NixImageException(
                    ErrorCodes.InvalidUser,
                    $"ContainerUser '{user}': the image has no {kind} named '{part}' (it has {string.Join(", ", names)}). Use one of those names, or a numeric id.");
            }
        }
    }

    /// <summary>
    /// ContainerWorkingDirectory in canonical form (empty: <see cref="ImageRequestFactory.DefaultWorkingDirectory"/>): absolute, without empty or '.' components and without a trailing
    /// slash (<c>/a//b/./</c> → <c>/a/b</c>). '..' and the root itself are refused: the app's files must stay in a
    /// folder of their own.
    /// </summary>
    public static string WorkingDirectory(string? value)
    {
        var raw = string.IsNullOrWhiteSpace(value) ? ImageRequestFactory.DefaultWorkingDirectory : value.Trim();
        if (!raw.StartsWith('/'))
        {
            throw new NixImageException(ErrorCodes.InvalidImageSetting, $"ContainerWorkingDirectory '{raw}' is not an absolute path. Use a path such as /app.");
        }

        var parts = raw.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(p => p != ".").ToList();
        if (parts.Contains(".."))
        {
            throw new NixImageException(ErrorCodes.InvalidImageSetting, $"ContainerWorkingDirectory '{raw}' contains '..'. Name the folder directly, such as /app or /srv/app.");
        }

        if (parts.Count == 0)
        {
            throw new NixImageException(ErrorCodes.InvalidImageSetting, $"ContainerWorkingDirectory '{raw}' is the image's root, where the app's files would mix with /bin, /etc and the rest. Use a folder such as /app.");
        }

        return "/" + string.Join('/', parts);
    }

    /// <summary>LocalRegistry: Docker or Podman (any case), or null when empty.</summary>
    public static LocalEngineKind? LocalEngine(string? value) => (value ?? string.Empty).Trim().ToLowerInvariant() switch
    {
        "" => null,
        "docker" => LocalEngineKind.Docker,
        "podman" => LocalEngineKind.Podman,
        _ => throw new NixImageException(ErrorCodes.InvalidImageSetting, $"LocalRegistry '{value}' is not a local engine this package loads into. Use Docker or Podman, or remove it to write the image archive."),
    };

    public static ImageFormat Format(string? value) => (value ?? string.Empty).Trim().ToLowerInvariant() switch
    {
        "" => ImageRequestFactory.DefaultFormat,
        "oci" => ImageFormat.Oci,
        "docker" => ImageFormat.Docker,
        _ => throw new NixImageException(ErrorCodes.InvalidImageFormat, $"ContainerImageFormat '{value}' is not known. Use OCI (the default) or Docker."),
    };

    /// <summary>
    /// Ports an ASP.NET app listens on according to its environment, as the SDK reads them: ASPNETCORE_URLS
    /// when set, else ASPNETCORE_HTTP_PORTS and ASPNETCORE_HTTPS_PORTS.
    /// </summary>
    public static IEnumerable<string> PortsFromEnvironment(IReadOnlyList<KeyValuePair<string, string>> environment)
    {
        string? Value(string name) => environment.LastOrDefault(e => e.Key == name).Value;
        static string[] Split(string value) => value.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        if (Value("ASPNETCORE_URLS") is { } urls)
        {
            foreach (var url in Split(urls))
            {
                var match = UrlWithPort().Match(url);
                if (match.Success && int.TryParse(match.Groups["port"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535)
                {
                    yield return $"{port.ToString(CultureInfo.InvariantCulture)}/tcp";
                }
            }

            yield break;
        }

        foreach (var name in new[] { "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS" })
        {
            foreach (var value in Value(name) is { } ports ? Split(ports) : [])
            {
                if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535)
                {
                    yield return $"{port.ToString(CultureInfo.InvariantCulture)}/tcp";
                }
            }
        }
    }

    /// <summary>
    /// Entrypoint and Cmd from the SDK's settings, with the SDK's rules (there is no base image here):
    /// <list type="bullet">
    /// <item><c>Entrypoint</c> instruction (the default): Entrypoint = app command + app command args; Cmd = default args.</item>
    /// <item><c>DefaultArgs</c>: Entrypoint = ContainerEntrypoint (+ args); Cmd = app command + its args + default args.</item>
    /// <item><c>None</c>: no app command may be set; Entrypoint = ContainerEntrypoint (+ args); Cmd = default args.</item>
    /// <item>Without an instruction, the legacy ContainerEntrypoint picks one as the SDK does.</item>
    /// </list>
    /// </summary>
    public static (IReadOnlyList<string> Entrypoint, IReadOnlyList<string> Cmd) EntrypointAndCmd(
        IReadOnlyList<string> appCommand,
        IReadOnlyList<string> appCommandArgs,
        IReadOnlyList<string> defaultArgs,
        string? appCommandInstruction,
        IReadOnlyList<string> legacyEntrypoint,
        IReadOnlyList<string> legacyEntrypointArgs)
    {
        var entrypoint = legacyEntrypoint;
        var entrypointArgs = legacyEntrypointArgs;
        var cmd = defaultArgs;
        var setsEntrypoint = entrypoint.Count > 0 || entrypointArgs.Count > 0;
        var instruction = string.IsNullOrWhiteSpace(appCommandInstruction) ? null : appCommandInstruction.Trim();

        if (instruction is null)
        {
            if (setsEntrypoint && cmd.Count == 0 && appCommandArgs.Count == 0 && entrypoint.Count == 0)
            {
                // The SDK's backwards compatibility: only ContainerEntrypointArgs given; they become Cmd after the app command.
                entrypoint = appCommand;
                cmd = entrypointArgs;
                entrypointArgs = [];
                appCommand = [];
                instruction = "None";
            }
            else
            {
                instruction = setsEntrypoint ? "DefaultArgs" : DefaultAppCommandInstruction;
            }
        }

        if (entrypointArgs.Count > 0 && entrypoint.Count == 0)
        {
            throw AppCommandError("ContainerEntrypointArgs is set without ContainerEntrypoint. Set ContainerEntrypoint, or use ContainerAppCommandArgs.");
        }

        if (appCommandArgs.Count > 0 && appCommand.Count == 0)
        {
            throw AppCommandError("ContainerAppCommandArgs is set, but there is no app command. Set ContainerAppCommand too.");
        }

        switch (instruction.ToLowerInvariant())
        {
            case "none":
                if (appCommand.Count > 0 || appCommandArgs.Count > 0)
                {
                    throw AppCommandError("ContainerAppCommandInstruction is None, but an app command is set. Remove ContainerAppCommand(Args), or choose Entrypoint or DefaultArgs.");
                }

                break;
            case "defaultargs":
                cmd = [.. appCommand, .. appCommandArgs, .. cmd];
                break;
            case "entrypoint":
                if (setsEntrypoint)
                {
                    throw AppCommandError("ContainerEntrypoint is set while ContainerAppCommandInstruction is Entrypoint. Remove ContainerEntrypoint, or set the instruction to DefaultArgs.");
                }

                entrypoint = appCommand;
                entrypointArgs = appCommandArgs;
                break;
            default:
                throw AppCommandError($"ContainerAppCommandInstruction '{appCommandInstruction}' is not known. Use Entrypoint, DefaultArgs or None.");
        }

        return ([.. entrypoint, .. entrypointArgs], cmd);
    }

    private static NixImageException AppCommandError(string message) => new(ErrorCodes.InvalidAppCommand, message);
}
