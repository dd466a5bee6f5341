using System.Globalization;
using System.Text.Json;
using Nixery.Build.Diagnostics;
using Nixery.Build.Processes;

namespace Nixery.Build.Engines;

/// <summary>The local container engines an image can be loaded into (the SDK's LocalRegistry values).</summary>
public enum LocalEngineKind
{
    Docker,
    Podman,
}

/// <summary>
/// A local container engine driven through its CLI, as the SDK drives it: <c>docker</c> or <c>podman</c> from PATH.
/// It tells whether the engine runs (<c>info</c>), whether it already holds an image under a name (<c>image inspect</c>),
/// and loads an image archive streamed to <c>load</c>'s standard input (never a file in between).
/// </summary>
public sealed class LocalEngine
{
    private readonly string _cli;
    private readonly IBuildLog _log;

    private LocalEngine(LocalEngineKind kind, string cli, IBuildLog log)
    {
        Kind = kind;
        _cli = cli;
        _log = log;
    }

    public LocalEngineKind Kind { get; }

    private string Name => CliName(Kind);

    private static string CliName(LocalEngineKind kind) => kind == LocalEngineKind.Docker ? "docker" : "podman";

    /// <summary>The engine's CLI on <paramref name="pathVariable"/>; a coded error when it is not installed.</summary>
    public static LocalEngine Find(LocalEngineKind kind, string? pathVariable, IBuildLog log)
    {
        var name = CliName(kind);
        var cli = ProcessRunner.FindOnPath(name, pathVariable) ?? throw new NixImageException(
            ErrorCodes.LocalEngineUnavailable,
            $"LocalRegistry is {kind}, but '{name}' is not on PATH. Install {kind} (Debian: apt-get install {(kind == LocalEngineKind.Docker ? "docker.io" : "podman")}), or remove LocalRegistry to write the image archive instead.");
        return new LocalEngine(kind, cli, log);
    }

    /// <summary>The first Docker Engine release that reads zstd layers (moby 23.0, February 2023).</summary>
    public const int FirstDockerWithZstd = 23;

    /// <summary>
    /// A coded error unless the engine answers (Docker's daemon runs; Podman can reach its storage), and, for an image
    /// with zstd layers, unless it can read them (<see cref="CheckReadsZstd"/>).
    /// </summary>
    public async Task EnsureRunningAsync(CancellationToken cancellationToken, bool zstdLayers = false)
    {
        var result = await RunAsync(["info", "--format", "{{json .}}"], null, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new NixImageException(
                ErrorCodes.LocalEngineUnavailable,
                $"{Kind} is installed ({_cli}) but does not answer: '{Name} info' failed: {Tail(result)} "
                + (Kind == LocalEngineKind.Docker ? "Start the Docker daemon (or point DOCKER_HOST at one), " : "Check that podman works for this user ('podman info'), ")
                + "or remove LocalRegistry to write the image archive instead.");
        }

        if (zstdLayers)
        {
            CheckReadsZstd(Kind, ServerVersion(Kind, result.StandardOutput));
        }
    }

    /// <summary>
    /// A coded error when the engine cannot read zstd layers: Docker before <see cref="FirstDockerWithZstd"/>. Podman
    /// reads them (containers/image, since 2020); an engine whose version is unknown is let try.
    /// </summary>
    /// <param name="version">The engine's version as <c>info</c> reports it (<c>20.10.24+dfsg1</c>, <c>28.3.2</c>), or null.</param>
    public static void CheckReadsZstd(LocalEngineKind kind, string? version)
    {
        if (kind != LocalEngineKind.Docker || MajorOf(version) is not { } major || major >= FirstDockerWithZstd)
        {
            return;
        }

        throw new NixImageException(
            ErrorCodes.EngineCannotReadZstd,
            $"The image has zstd layers, but the Docker Engine here is {version}, and Docker reads zstd layers from {FirstDockerWithZstd}.0 on. Upgrade Docker, load into podman (LocalRegistry=Podman), or build gzip layers (NixImageLayerCompression=gzip).");
    }

    /// <summary>The server's version from <c>info --format '{{json .}}'</c>: Docker's <c>ServerVersion</c>, podman's <c>version.Version</c>; null when absent.</summary>
    public static string? ServerVersion(LocalEngineKind kind, string infoJson)
    {
        try
        {
            using var info = JsonDocument.Parse(infoJson);
            var root = info.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var version = kind == LocalEngineKind.Docker
                ? root.TryGetProperty("ServerVersion", out var server) ? server : default
                : root.TryGetProperty("version", out var podman) && podman.ValueKind == JsonValueKind.Object && podman.TryGetProperty("Version", out var inner) ? inner : default;
            return version.ValueKind == JsonValueKind.String ? version.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static int? MajorOf(string? version)
    {
        var digits = new string((version ?? string.Empty).Trim().TakeWhile(char.IsAsciiDigit).ToArray());
        return int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var major) ? major : null;
    }

    /// <summary>
    /// The image IDs (config digests, <c>sha256:…</c>) the engine holds under <paramref name="references"/>, in one
    /// call; null when it lacks any of them (or does not answer).
    /// </summary>
    public async Task<IReadOnlyList<string>?> ImageIdsAsync(IReadOnlyList<string> references, CancellationToken cancellationToken)
    {
        var result = await RunAsync(["image", "inspect", "--format", "{{.Id}}", .. references], null, cancellationToken);
        var ids = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(id => id.Contains(':', StringComparison.Ordinal) ? id : "sha256:" + id).ToList();
        return result.ExitCode == 0 && ids.Count == references.Count ? ids : null;
    }

    /// <summary>Loads an image archive (Docker's manifest.json with the tags, and an OCI layout) written to the CLI's standard input.</summary>
    public async Task LoadAsync(Func<Stream, CancellationToken, Task> writeArchive, CancellationToken cancellationToken)
    {
        var result = await RunAsync(["load"], writeArchive, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new NixImageException(
                ErrorCodes.LocalEngineUnavailable,
                $"'{Name} load' refused the image: {Tail(result)} Check that {Kind} runs and has room for the image, or remove LocalRegistry to write the image archive instead.");
        }

        foreach (var line in result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            _log.Detail($"{Name} load: {line}");
        }
    }

    private Task<ProcessResult> RunAsync(IReadOnlyList<string> arguments, Func<Stream, CancellationToken, Task>? input, CancellationToken cancellationToken) =>
        ProcessRunner.RunAsync(_cli, arguments, line => _log.Detail($"{Name}: {line}"), input, cancellationToken);

    private static string Tail(ProcessResult result)
    {
        var lines = result.StandardErrorTail.Select(l => l.Trim()).Where(l => l.Length > 0).TakeLast(3).ToList();
        return lines.Count == 0 ? $"it exited with code {result.ExitCode}." : string.Join(" | ", lines).TrimEnd('.') + ".";
    }
}
