using Nixery.Build.Registry;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Registry;

public sealed class RegistryEndpointsTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public void RemembersTheSchemeThatWorkedAcrossLoads()
    {
        var registry = RegistryHost.Parse("127.0.0.1:5000");
        Assert.Null(RegistryEndpoints.Load(_temp.Path).SchemeOf(registry));

        RegistryEndpoints.Load(_temp.Path).Remember(registry, "http");

        Assert.Equal("http", RegistryEndpoints.Load(_temp.Path).SchemeOf(registry));
        Assert.Null(RegistryEndpoints.Load(_temp.Path).SchemeOf(RegistryHost.Parse("127.0.0.1:5001")));
        Assert.Empty(Directory.EnumerateFiles(_temp.Path, "*.partial"));
    }

    [Fact]
    public void DamagedOrStrangeHintsCountAsNone()
    {
        File.WriteAllText(_temp.Combine(RegistryEndpoints.FileName), """{"version":1,"schemes":{"a:1":"gopher"}}""");
        Assert.Null(RegistryEndpoints.Load(_temp.Path).SchemeOf(RegistryHost.Parse("a:1")));

        File.WriteAllText(_temp.Combine(RegistryEndpoints.FileName), "{ broken");
        Assert.Null(RegistryEndpoints.Load(_temp.Path).SchemeOf(RegistryHost.Parse("a:1")));
    }

    public void Dispose() => _temp.Dispose();
}
