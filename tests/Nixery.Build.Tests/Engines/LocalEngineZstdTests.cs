using Nixery.Build.Diagnostics;
using Nixery.Build.Engines;

namespace Nixery.Build.Tests.Engines;

/// <summary>Which local engines take zstd layers: Docker from 23.0 on, podman always; read from the engine's <c>info</c>.</summary>
public sealed class LocalEngineZstdTests
{
    [Theory]
    [InlineData("20.10.24+dfsg1")]
    [InlineData("22.06.0-beta.0")]
    [InlineData("17.06.0-ce")]
    public void DockerBefore23IsACodedErrorNamingItsVersion(string version)
    {
        var error = Assert.Throws<NixImageException>(() => LocalEngine.CheckReadsZstd(LocalEngineKind.Docker, version));

        Assert.Equal(ErrorCodes.EngineCannotReadZstd, error.Code);
        Assert.Contains(version, error.Message, StringComparison.Ordinal);
        Assert.Contains("23.0", error.Message, StringComparison.Ordinal);
        Assert.Contains("NixImageLayerCompression=gzip", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(LocalEngineKind.Docker, "23.0.0")]
    [InlineData(LocalEngineKind.Docker, "23.0.0-rc.1")]
    [InlineData(LocalEngineKind.Docker, "28.3.2")]
    [InlineData(LocalEngineKind.Docker, "100.0.0")]
    [InlineData(LocalEngineKind.Podman, "1.9.3")]
    [InlineData(LocalEngineKind.Podman, "5.4.2")]
    [InlineData(LocalEngineKind.Docker, null)]
    [InlineData(LocalEngineKind.Docker, "dev")]
    public void Docker23OnPodmanAndAnUnknownVersionAreLetLoad(LocalEngineKind kind, string? version) =>
        LocalEngine.CheckReadsZstd(kind, version);

    [Fact]
    public void DockersVersionIsItsServerVersion()
    {
        const string Info = """{"ID":"abc","Containers":0,"ServerVersion":"20.10.24+dfsg1","ClientInfo":{"Version":"28.0.0"}}""";

        Assert.Equal("20.10.24+dfsg1", LocalEngine.ServerVersion(LocalEngineKind.Docker, Info));
    }

    [Fact]
    public void PodmansVersionIsUnderVersion()
    {
        const string Info = """{"host":{"arch":"amd64"},"store":{},"version":{"APIVersion":"5.4.2","Version":"5.4.2","GoVersion":"go1.24"}}""";

        Assert.Equal("5.4.2", LocalEngine.ServerVersion(LocalEngineKind.Podman, Info));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{}")]
    [InlineData("""{"ServerVersion":23}""")]
    [InlineData("[]")]
    public void AnInfoWithoutAVersionGivesNone(string info) =>
        Assert.Null(LocalEngine.ServerVersion(LocalEngineKind.Docker, info));
}
