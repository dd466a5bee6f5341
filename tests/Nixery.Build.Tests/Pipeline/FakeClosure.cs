using System.Security.Cryptography;
using System.Text;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Settings;
using Nixery.Build.Sources;

namespace Nixery.Build.Tests.Pipeline;

/// <summary>
/// A closure source that answers every request with the same closure, and counts how often it was asked. Like Nix,
/// it gives every store path a NAR hash (derived from the path where the test gave none), so the lock can record it.
/// </summary>
internal sealed class FakeClosure(RuntimeClosure closure) : IClosureSource
{
    private readonly RuntimeClosure _closure = closure with
    {
        Paths = closure.Paths.ToDictionary(
            p => p.Key,
            p => p.Value with { NarHash = p.Value.NarHash ?? NarHash.FromBytes(SHA256.HashData(Encoding.UTF8.GetBytes(p.Key))) },
            StringComparer.Ordinal),
    };

    public int Calls { get; private set; }

    public Task<ClosureResult> GetAsync(ImageRequest request, string? closureKey, CancellationToken cancellationToken)
    {
        Calls++;
        return Task.FromResult(new ClosureResult(_closure, Reused: false, DiskStore.Instance));
    }
}
