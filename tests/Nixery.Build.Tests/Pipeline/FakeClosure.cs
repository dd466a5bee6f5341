using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Settings;
using Nixery.Build.Sources;

namespace Nixery.Build.Tests.Pipeline;

/// <summary>A closure source that answers every request with the same closure, and counts how often it was asked.</summary>
internal sealed class FakeClosure(RuntimeClosure closure) : IClosureSource
{
    public int Calls { get; private set; }

    public Task<ClosureResult> GetAsync(ImageRequest request, CancellationToken cancellationToken)
    {
        Calls++;
        return Task.FromResult(new ClosureResult(closure, Reused: false, DiskStore.Instance));
    }
}
