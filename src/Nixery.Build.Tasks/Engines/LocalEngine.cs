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

    /// <summary>A coded error unless the engine answers (Docker's daemon runs; Podman can reach its storage).</summary>
    public async Task EnsureRunningAsync(CancellationToken cancellationToken)
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
