using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Nixery.Build.Diagnostics;
using Nixery.Build.Processes;

namespace Nixery.Build.Nix;

/// <summary>
/// Talks to Nix through its command-line tools, in three process calls whatever the package count:
/// evaluate (resolve every name, report all missing ones), realise (build or substitute), and query
/// the runtime closure with sizes and references. Nix's own error text is passed through.
/// </summary>
public sealed partial class NixClient
{
    private readonly string _nixInstantiate;
    private readonly string _nixStore;
    private readonly string _nix;
    private readonly IBuildLog _log;

    private NixClient(string binDirectory, IBuildLog log)
    {
        _nixInstantiate = Path.Combine(binDirectory, "nix-instantiate");
        _nixStore = Path.Combine(binDirectory, "nix-store");
        _nix = Path.Combine(binDirectory, "nix");
        _log = log;
    }

    /// <summary>Whether Nix's tools are on <paramref name="pathVariable"/> (NixMode=Auto builds from the lock file when they are not).</summary>
    public static bool IsOnPath(string? pathVariable) => ProcessRunner.FindOnPath("nix-store", pathVariable) is not null;

    /// <summary>Finds Nix's tools on <paramref name="pathVariable"/> (the PATH of the build).</summary>
    public static NixClient Locate(string? pathVariable, IBuildLog log)
    {
        var nixStore = ProcessRunner.FindOnPath("nix-store", pathVariable);
        if (nixStore is null)
        {
            throw new NixImageException(
                ErrorCodes.NixNotFound,
                "Nix was not found on PATH (no 'nix-store' command). "
                + "Install Nix (https://nixos.org/download, or 'apt-get install nix-bin' on Debian and Ubuntu) and make sure its bin folder is on PATH.");
        }

        return new NixClient(Path.GetDirectoryName(nixStore)!, log);
    }

    /// <summary>Resolves, realises and reads the runtime closure of <paramref name="packages"/>.</summary>
    /// <param name="gcRootDirectory">Where to register garbage-collector roots for the realised packages, so they outlive the build.</param>
    public async Task<RuntimeClosure> GetRuntimeClosureAsync(
        NixPackageSource source,
        string system,
        IReadOnlyList<PackageRequest> packages,
        string gcRootDirectory,
        CancellationToken cancellationToken)
    {
        var resolved = await ResolveAsync(source, system, packages, cancellationToken);
        await RealiseAsync(resolved, system, gcRootDirectory, cancellationToken);
        var paths = await QueryClosureAsync(resolved.Select(p => p.Package.StorePath).Distinct(StringComparer.Ordinal).ToList(), cancellationToken);
        return new RuntimeClosure(resolved.Select(p => p.Package).ToList(), paths);
    }

    internal sealed record Resolution(ResolvedPackage Package, string DerivationPath, string OutputName);

    internal async Task<IReadOnlyList<Resolution>> ResolveAsync(
        NixPackageSource source,
        string system,
        IReadOnlyList<PackageRequest> packages,
        CancellationToken cancellationToken)
    {
        _log.Info($"Nix: resolving {packages.Count} package(s) from {source.Describe()} for {system}");
        var names = JsonSerializer.Serialize(packages.Select(p => new { name = p.Name, output = p.Output == PackageOutput.Library ? "lib" : "default" }).ToArray());
        var result = await RunAsync(
            _nixInstantiate,
            [
                "--eval", "--strict", "--json", "--read-write-mode",
                "--expr", ResolveExpression.Value,
                "--argstr", "source", source.ToJson(),
                "--argstr", "system", system,
                "--argstr", "names", names,
            ],
            cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new NixImageException(
                ErrorCodes.NixEvaluationFailed,
                $"Nix could not evaluate the package set {source.Describe()}: {NixError(result)} "
                + "Check the package source settings (NixPkgsPath, NixPkgsChannel, NixPkgsGitRepository) and that the set evaluates with nix-instantiate.");
        }

        JsonElement root;
        try
        {
            root = JsonDocument.Parse(result.StandardOutput).RootElement;
        }
        catch (JsonException e)
        {
            throw new NixImageException(ErrorCodes.NixEvaluationFailed, $"Nix returned output that is not JSON ({e.Message}). Check that nix-instantiate on PATH is Nix 2.4 or newer.");
        }

        var byName = packages.GroupBy(p => p.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        if (!root.TryGetProperty("packages", out var found))
        {
            var missing = Names(root, "missing");
            var notPackages = Names(root, "notPackages");
            var parts = new List<string>();
            if (missing.Count > 0)
            {
                parts.Add($"not found: {Describe(missing)}");
            }

            if (notPackages.Count > 0)
            {
                parts.Add($"not packages (they are not derivations): {Describe(notPackages)}");
            }

            throw new NixImageException(
                ErrorCodes.PackagesNotFound,
                $"Packages missing from {source.Describe()} - {string.Join("; ", parts)}. "
                + "Check the spelling against the package set (attribute paths such as 'jq' or 'xorg.xev'), or use a package set that has them.");
        }

        // In the order asked: the request at the same position is the one each answer is for.
        return found.EnumerateArray().Zip(packages).Select(pair =>
        {
            var (p, request) = pair;
            var outputName = p.GetProperty("outputName").GetString()!;
            // resolve.nix gives an SPDX expression or null (meta.license said none it can name).
            var license = p.TryGetProperty("license", out var l) && l.ValueKind == JsonValueKind.String ? l.GetString() : null;
            return new Resolution(
                new ResolvedPackage(request.Name, p.GetProperty("attrPath").GetString()!, p.GetProperty("storePath").GetString()!, request.Origin, outputName, license),
                p.GetProperty("drvPath").GetString()!,
                outputName);
        }).ToList();

        string Describe(IReadOnlyList<string> list) =>
            string.Join(", ", list.Select(n => byName.TryGetValue(n, out var r) ? $"'{n}' ({r.Origin})" : $"'{n}'"));
    }

    internal async Task RealiseAsync(IReadOnlyList<Resolution> packages, string system, string gcRootDirectory, CancellationToken cancellationToken)
    {
        // Fresh roots each time: stale ones would keep old closures alive forever.
        if (Directory.Exists(gcRootDirectory))
        {
            Directory.Delete(gcRootDirectory, recursive: true);
        }

        Directory.CreateDirectory(gcRootDirectory);
        _log.Info($"Nix: realising {packages.Count} package(s)");
        var arguments = new List<string> { "--realise", "--add-root", Path.Combine(gcRootDirectory, "result") };
        arguments.AddRange(packages.Select(p => $"{p.DerivationPath}!{p.OutputName}").Distinct(StringComparer.Ordinal));
        var result = await RunAsync(_nixStore, arguments, cancellationToken);
        if (result.ExitCode != 0 && IsPlatformUnavailable(result.StandardErrorTail, system))
        {
            throw new NixImageException(
                ErrorCodes.NixPlatformUnavailable,
                $"Nix cannot build for {system} on this machine, and no binary cache had the closure of {string.Join(", ", packages.Select(p => p.Package.AttributePath).Distinct(StringComparer.Ordinal))}: {NixError(result)} "
                + $"Give Nix a way to get {system} store paths: a binary cache that has them (substituters, such as cache.nixos.org), a remote builder for {system} (builders), "
                + $"or extra-platforms = {system} with QEMU binfmt emulation registered on this machine.");
        }

        if (result.ExitCode != 0)
        {
            throw new NixImageException(
                ErrorCodes.NixBuildFailed,
                $"Nix could not build the requested packages: {NixError(result)} "
                + "Fix the failing package or remove it from the NixPackage items; 'nix log' shows the full build log.");
        }
    }

    internal async Task<IReadOnlyDictionary<string, StorePathInfo>> QueryClosureAsync(IReadOnlyList<string> storePaths, CancellationToken cancellationToken)
    {
        var arguments = new List<string> { "--extra-experimental-features", "nix-command", "path-info", "--json", "--recursive" };
        arguments.AddRange(storePaths);
        var result = await RunAsync(_nix, arguments, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new NixImageException(
                ErrorCodes.NixClosureQueryFailed,
                $"Nix could not report the runtime closure: {NixError(result)} Check that 'nix' on PATH is Nix 2.4 or newer.");
        }

        try
        {
            var paths = ParsePathInfo(result.StandardOutput);
            var bytes = paths.Values.Sum(p => p.NarSize);
            _log.Info($"Nix: runtime closure of {paths.Count} store paths, {FormatSize(bytes)}");
            return paths;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new NixImageException(
                ErrorCodes.NixClosureQueryFailed,
                $"Nix's answer about the runtime closure could not be read ({e.Message}). Check that 'nix' on PATH is Nix 2.4 or newer.");
        }
    }

    /// <summary>
    /// Reads <c>nix path-info --json</c>: a list of objects with <c>path</c> (Nix 2.4 to 2.18)
    /// or an object keyed by store path (Nix 2.19 and later).
    /// </summary>
    internal static IReadOnlyDictionary<string, StorePathInfo> ParsePathInfo(string json)
    {
        using var document = JsonDocument.Parse(json);
        var result = new SortedDictionary<string, StorePathInfo>(StringComparer.Ordinal);
        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in root.EnumerateArray())
            {
                Add(item.GetProperty("path").GetString()!, item);
            }
        }
        else
        {
            foreach (var property in root.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.Null)
                {
                    throw new InvalidOperationException($"'{property.Name}' is not a valid store path");
                }

                Add(property.Name, property.Value);
            }
        }

        return result;

        void Add(string path, JsonElement info)
        {
            if (info.TryGetProperty("valid", out var valid) && valid.ValueKind == JsonValueKind.False)
            {
                throw new InvalidOperationException($"'{path}' is not a valid store path");
            }

            var storeDirectory = path[..(path.LastIndexOf('/') + 1)];
            var references = info.GetProperty("references").EnumerateArray()
                .Select(r => r.GetString()!)
                .Select(r => r.StartsWith('/') ? r : storeDirectory + r)
                .Order(StringComparer.Ordinal)
                .ToList();
            var narHash = info.TryGetProperty("narHash", out var hash) && hash.GetString() is { } text ? NarHash.Parse(text) : null;
            var deriver = info.TryGetProperty("deriver", out var drv) && drv.ValueKind == JsonValueKind.String ? drv.GetString() : null;
            result[path] = new StorePathInfo(path, info.GetProperty("narSize").GetInt64(), references, narHash, deriver);
        }
    }

    internal static string FormatSize(long bytes) =>
        bytes >= 1_000_000 ? $"{(bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture)} MB" : $"{(bytes / 1e3).ToString("0.0", CultureInfo.InvariantCulture)} kB";

    private static List<string> Names(JsonElement root, string property) =>
        root.TryGetProperty(property, out var list) ? list.EnumerateArray().Select(e => e.GetString()!).ToList() : [];

    private Task<ProcessResult> RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        ProcessRunner.RunAsync(tool, arguments, line => _log.Detail("nix: " + StripAnsi(line)), cancellationToken);

    /// <summary>
    /// Nix's error on one line: from its first "error:" line on (that is where it explains itself), and,
    /// when a builder failed, the builder's last log lines that Nix printed before it.
    /// </summary>
    /// <summary>
    /// Nix's refusal to build a derivation of <paramref name="system"/> on a machine of another system (not one that
    /// lacks a feature such as kvm): "a 'aarch64-linux' with features {} is required to build '…', but I am a
    /// 'x86_64-linux' with features {…}" (Nix 2.4 to 2.18), or "Cannot build '…'. Reason: required system or feature
    /// not available / Required system: 'aarch64-linux' with features {} / Current system: 'x86_64-linux' …" (later).
    /// </summary>
    internal static bool IsPlatformUnavailable(IEnumerable<string> standardError, string system)
    {
        var text = string.Join('\n', standardError.Select(StripAnsi));
        var old = PlatformRefusal().Match(text);
        if (old.Success)
        {
            return old.Groups["required"].Value == system && old.Groups["current"].Value != system;
        }

        var required = RequiredSystem().Match(text);
        var current = CurrentSystem().Match(text);
        return required.Success && current.Success && required.Groups["system"].Value == system && current.Groups["system"].Value != system;
    }

    [GeneratedRegex(@"a '(?<required>[^']+)' with features \{[^}]*\} is required to build '[^']*', but I am a '(?<current>[^']+)'")]
    private static partial Regex PlatformRefusal();

    [GeneratedRegex(@"Required system: '(?<system>[^']+)'")]
    private static partial Regex RequiredSystem();

    [GeneratedRegex(@"Current system: '(?<system>[^']+)'")]
    private static partial Regex CurrentSystem();

    internal static string NixError(ProcessResult result)
    {
        var lines = result.StandardErrorTail.Select(StripAnsi).Select(l => l.Trim()).ToList();
        var first = lines.FindIndex(l => l.StartsWith("error:", StringComparison.Ordinal));
        var error = (first >= 0 ? lines.Skip(first) : lines).Where(l => l.Length > 0).ToList();
        if (first > 0 && lines[first].Contains("builder for", StringComparison.Ordinal)
            && !error.Any(l => l.StartsWith("last ", StringComparison.Ordinal) && l.Contains("log lines", StringComparison.Ordinal)))
        {
            // Nix 2.8 streams the build log to stderr instead of repeating its tail in the error.
            var log = lines.Take(first).Reverse().TakeWhile(l => !IsNixProgress(l)).Where(l => l.Length > 0).Take(10).Reverse().ToList();
            if (log.Count > 0)
            {
                error.Add("last log lines: " + string.Join(" | ", log));
            }
        }

        var text = string.Join(" | ", error);
        if (text.Length == 0)
        {
            text = $"the command exited with code {result.ExitCode} and printed no error";
        }

        return text.EndsWith('.') ? text : text + ".";
    }

    private static bool IsNixProgress(string line) =>
        line.StartsWith("building '", StringComparison.Ordinal)
        || line.StartsWith("these ", StringComparison.Ordinal)
        || line.StartsWith("this derivation", StringComparison.Ordinal)
        || line.StartsWith("this path", StringComparison.Ordinal)
        || line.StartsWith("/nix/store/", StringComparison.Ordinal)
        || line.StartsWith("warning:", StringComparison.Ordinal);

    /// <summary>Nix's line without terminal colours, and with any other control byte (a NUL from a file Nix quotes) shown as '?'.</summary>
    private static string StripAnsi(string line) => ControlCharacter().Replace(AnsiEscape().Replace(line, string.Empty), "?");

    [GeneratedRegex("\u001b\\[[0-9;]*[A-Za-z]")]
    private static partial Regex AnsiEscape();

    [GeneratedRegex("[\\x00-\\x08\\x0B-\\x1F\\x7F]")]
    private static partial Regex ControlCharacter();

    private static class ResolveExpression
    {
        public static readonly string Value = Load();

        private static string Load()
        {
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Nixery.Build.Nix.resolve.nix")
                ?? throw new InvalidOperationException("The embedded resolve.nix is missing from the task assembly.");
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }
}
