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
    /// <param name="closureKey">
    /// What decides the closure, from the freshness owner (<c>ImageFreshness.ClosureKey</c>): a source that remembers
    /// closures reuses one only under the same key. Null: nothing pins the package set, so it is asked again.
    /// </param>
    Task<ClosureResult> GetAsync(ImageRequest request, string? closureKey, CancellationToken cancellationToken);
}

/// <summary>
/// The runtime closure from Nix: the last one (<see cref="ClosureCache"/>) when its key is the same, otherwise Nix's
/// answer. Writing it to the lock file is the pipeline's (the freshness owner decides when the lock is current).
/// </summary>
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

    public async Task<ClosureResult> GetAsync(ImageRequest request, string? closureKey, CancellationToken cancellationToken)
    {
        var closureCache = new ClosureCache(Path.Combine(request.IntermediateDirectory, "closure.json"));
        if (closureKey is not null && closureCache.TryLoad(closureKey) is { } cached)
        {
            _log.Info($"Nix: packages, system and package set unchanged; reusing the runtime closure of {cached.Paths.Count} store paths without running Nix");
            return new(cached, true, DiskStore.Instance);
        }

        if (closureKey is null)
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
        if (closureKey is not null)
        {
            closureCache.Save(closureKey, closure);
        }

        return new(closure, false, DiskStore.Instance);
    }
}
