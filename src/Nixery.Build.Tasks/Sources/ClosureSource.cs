using Nixery.Build.Diagnostics;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Settings;

namespace Nixery.Build.Sources;

/// <summary>The runtime closure of a request's packages, where its store paths' contents are read, and whether it was reused rather than asked of Nix.</summary>
public sealed record ClosureResult(RuntimeClosure Closure, bool Reused, IStoreView Store);

/// <summary>Where the pipeline gets the closure from: Nix (<see cref="NixClosureSource"/>), or a fake in tests.</summary>
public interface IClosureSource
{
    Task<ClosureResult> GetAsync(ImageRequest request, CancellationToken cancellationToken);
}

/// <summary>The runtime closure from Nix: the last one when nothing that decides it changed, otherwise Nix's answer.</summary>
public sealed class NixClosureSource : IClosureSource
{
    private readonly IBuildLog _log;
    private readonly string? _pathVariable;

    /// <param name="pathVariable">The PATH to find Nix on (the build's environment).</param>
    public NixClosureSource(IBuildLog log, string? pathVariable)
    {
        _log = log;
        _pathVariable = pathVariable;
    }

    public async Task<ClosureResult> GetAsync(ImageRequest request, CancellationToken cancellationToken)
    {
        var closureCache = new ClosureCache(Path.Combine(request.IntermediateDirectory, "closure.json"));
        var fingerprint = ClosureCache.Fingerprint(request.NixSourceIdentity, request.Platform.NixSystem, request.Packages);
        if (fingerprint is not null && closureCache.TryLoad(fingerprint) is { } cached)
        {
            _log.Info($"Nix: packages, system and package set unchanged; reusing the runtime closure of {cached.Paths.Count} store paths without running Nix");
            WriteLock(request, cached);
            return new(cached, true, DiskStore.Instance);
        }

        if (fingerprint is null)
        {
            _log.Detail($"Nix: {request.Source.Describe()} is not pinned to a revision, so Nix runs on every build");
        }

        var nix = NixClient.Locate(_pathVariable, _log);
        var closure = await nix.GetRuntimeClosureAsync(
            request.Source,
            request.Platform.NixSystem,
            request.Packages,
            Path.Combine(request.IntermediateDirectory, "gcroots"),
            cancellationToken);
        if (fingerprint is not null)
        {
            closureCache.Save(fingerprint, closure);
        }

        WriteLock(request, closure);
        return new(closure, false, DiskStore.Instance);
    }

    /// <summary>Records the closure in the lock file, for builds without Nix (rewritten only when it changes).</summary>
    private void WriteLock(ImageRequest request, RuntimeClosure closure)
    {
        var locked = new LockedPlatform(LockFile.SourceOf(request.Source, Path.GetDirectoryName(request.LockFile)!), closure.Packages, closure.Paths);
        try
        {
            if (LockFile.Update(request.LockFile, request.Platform.NixSystem, locked))
            {
                _log.Info($"Nix: wrote the closure for {request.Platform.NixSystem} to {request.LockFile}; commit it to build without Nix");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NixImageException(
                ErrorCodes.WriteFailed,
                $"The lock file '{request.LockFile}' cannot be written ({e.Message}). Make its folder writable, or set NixLockFile to a path that is.",
                e);
        }
    }
}
