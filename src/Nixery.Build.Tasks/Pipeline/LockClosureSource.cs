using Nixery.Build.BinaryCache;
using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;

namespace Nixery.Build.Pipeline;

/// <summary>The settings of builds without Nix (NixMode, NixBinaryCaches, NixTrustedPublicKeys), checked: NIXIMG052 for a value that cannot be used.</summary>
public static class NixModeSettings
{
    public const string DefaultCache = "https://cache.nixos.org";

    public static NixMode Mode(string? text) => string.IsNullOrWhiteSpace(text) ? NixMode.Auto : text.Trim().ToLowerInvariant() switch
    {
        "auto" => NixMode.Auto,
        "nix" => NixMode.Nix,
        "lock" => NixMode.Lock,
        _ => throw new NixImageException(ErrorCodes.InvalidBinaryCacheSetting, $"NixMode '{text.Trim()}' is not a mode. Set it to Auto (Nix when it is on PATH, else the lock file), Nix or Lock."),
    };

    /// <summary>The caches in order: <c>https://cache.nixos.org</c> unless the project names its own.</summary>
    public static IReadOnlyList<string> Caches(string? text)
    {
        var items = Split(text);
        if (items.Count == 0)
        {
            return [DefaultCache];
        }

        foreach (var item in items)
        {
            if (BinaryCacheClient.ParseCache(item) is not { } cache)
            {
                throw new NixImageException(
                    ErrorCodes.InvalidBinaryCacheSetting,
                    $"NixBinaryCaches has '{Redacted(item)}', which is not an http://, https:// or file:// address of a binary cache. Write each cache as a URL, separated by ';' or spaces.");
            }

            if (cache.UserInfo.Length > 0 || Redacted(item) != item)
            {
                // Refused before it becomes a property: MSBuild logs property values, and the build sends no credentials to caches.
                throw new NixImageException(
                    ErrorCodes.InvalidBinaryCacheSetting,
                    $"NixBinaryCaches has '{Redacted(item)}', a URL with a user name or password in it, which build logs would show and Nixery.Build does not send. "
                    + "Take the credentials out of the URL: use a cache that needs none (a public cache, or a file:// folder such as a mounted bucket), or a proxy on the build machine that adds them.");
            }
        }

        return items.Select(i => i.TrimEnd('/')).ToList();
    }

    /// <summary>The trusted keys: cache.nixos.org's unless the project names its own.</summary>
    public static IReadOnlyList<string> Keys(string? text)
    {
        var items = Split(text);
        if (items.Count == 0)
        {
            return [TrustedKey.CacheNixosOrg];
        }

        foreach (var item in items)
        {
            try
            {
                TrustedKey.Parse(item);
            }
            catch (FormatException e)
            {
                throw new NixImageException(
                    ErrorCodes.InvalidBinaryCacheSetting,
                    $"NixTrustedPublicKeys has a key named '{item.Split(':', 2)[0]}' that is not a Nix public key ({e.Message}). Write each key as Nix prints it, name:base64 (cache.nixos.org-1:6NCH…), separated by ';' or spaces.");
            }
        }

        return items;
    }

    private static List<string> Split(string? text) =>
        (text ?? string.Empty).Split([';', ' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    /// <summary>A URL without the user and password it may carry (all before the last '@', after the scheme).</summary>
    private static string Redacted(string text)
    {
        var start = text.IndexOf("://", StringComparison.Ordinal);
        var at = text.LastIndexOf('@');
        return start >= 0 && at > start ? text[..(start + 3)] + "***" + text[at..] : text;
    }
}

/// <summary>
/// The runtime closure of a build without Nix: the lock file's, checked against the project's packages and package
/// set, with every store path's NAR brought into the layer cache from the binary caches (see <see cref="NarFetcher"/>).
/// The layers are then read from those NARs.
/// </summary>
public sealed class LockClosureSource : IClosureSource
{
    private readonly IBuildLog _log;
    private readonly HttpMessageHandler? _handler;
    private readonly TimeSpan _timeout;

    /// <param name="timeout">How long a binary cache may go without progress (NixImageRegistryTimeout); null: its default.</param>
    /// <param name="handler">The HTTP handler for binary caches (tests pass their own); null for the system's.</param>
    public LockClosureSource(IBuildLog log, TimeSpan? timeout = null, HttpMessageHandler? handler = null)
    {
        _log = log;
        _timeout = timeout ?? RegistrySink.Timeout(null);
        _handler = handler;
    }

    public async Task<ClosureResult> GetAsync(ImageRequest request, CancellationToken cancellationToken)
    {
        var locked = Locked(request);
        _log.Info($"Nix: not run; the closure of {locked.Paths.Count} store paths is the lock file's ({request.LockFile})");
        var settings = new BinaryCacheSettings(
            request.BinaryCaches.Select(c => BinaryCacheClient.ParseCache(c)!).ToList(),
            request.TrustedPublicKeys.Select(TrustedKey.Parse).ToList(),
            _timeout);
        var blobs = new LayerCache(request.LayerCacheDirectory).Blobs;
        var store = await new NarFetcher(settings, blobs, _log, _handler).FetchAsync(locked.Paths.Values.ToList(), cancellationToken);
        return new ClosureResult(locked.Closure, Reused: false, store);
    }

    /// <summary>The lock's part for the request's platform, when it was made for the request's packages and package set.</summary>
    public static LockedPlatform Locked(ImageRequest request)
    {
        var platforms = LockFile.Read(request.LockFile);
        var system = request.Platform.NixSystem;
        if (!platforms.TryGetValue(system, out var locked))
        {
            throw new NixImageException(
                ErrorCodes.LockFileMissing,
                $"The lock file '{request.LockFile}' has no closure for {system} (it has {(platforms.Count == 0 ? "none" : string.Join(", ", platforms.Keys))}). "
                + $"On a machine with Nix, run 'dotnet build -t:NixLock' for this runtime identifier (Nix needs a builder or binary cache for {system}) and commit the lock file.");
        }

        if (LockFile.Inconsistency(locked) is { } inconsistency)
        {
            throw new NixImageException(
                ErrorCodes.LockFileStale,
                $"The lock file '{request.LockFile}' does not hang together for {system}: {inconsistency}. "
                + "It was edited or merged by hand: on a machine with Nix, run 'dotnet build -t:NixLock' and commit the lock file it writes.");
        }

        if (LockFile.Mismatch(locked, LockFile.SourceOf(request.Source, Path.GetDirectoryName(request.LockFile)!), request.Packages) is { } mismatch)
        {
            throw new NixImageException(
                ErrorCodes.LockFileStale,
                $"The lock file '{request.LockFile}' is stale for {system}: {mismatch}. "
                + "On a machine with Nix, run 'dotnet build -t:NixLock' (or publish with NixImage=true) and commit the lock file it writes.");
        }

        return locked;
    }
}
