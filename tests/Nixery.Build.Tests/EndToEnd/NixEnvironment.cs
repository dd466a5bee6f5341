namespace Nixery.Build.Tests.EndToEnd;

/// <summary>NIX_CONFIG as the builds have it, for a test that calls Nix directly (tests of the end-to-end collection, which run one at a time).</summary>
internal sealed class NixEnvironment : IDisposable
{
    private readonly string? _before = Environment.GetEnvironmentVariable("NIX_CONFIG");

    public NixEnvironment() => Environment.SetEnvironmentVariable("NIX_CONFIG", SampleProject.NixConfig);

    public void Dispose() => Environment.SetEnvironmentVariable("NIX_CONFIG", _before);
}
