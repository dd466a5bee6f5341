using Nixery.Build.BinaryCache;
using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Settings;

namespace Nixery.Build.Sources;

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
        _timeout = timeout ?? RegistrySettings.TimeoutOf(null);
        _handler = handler;
    }

    /// <param name="closureKey">Not used: the lock file is the closure, read again on every build that needs it.</param>
    public async Task<ClosureResult> GetAsync(ImageRequest request, string? closureKey, CancellationToken cancellationToken)
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
