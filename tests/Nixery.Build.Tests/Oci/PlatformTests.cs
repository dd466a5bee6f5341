using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;

namespace Nixery.Build.Tests.Oci;

public class PlatformTests
{
    [Theory]
    [InlineData("linux-x64", "x86_64-linux", "amd64", null)]
    [InlineData("linux-arm64", "aarch64-linux", "arm64", "v8")]
    [InlineData("linux-musl-x64", "x86_64-linux", "amd64", null)]
    [InlineData("linux-musl-arm64", "aarch64-linux", "arm64", "v8")]
    [InlineData("linux-arm", "armv7l-linux", "arm", "v7")]
    [InlineData("linux-x86", "i686-linux", "386", null)]
    public void RuntimeIdentifierMapsToNixSystemAndOciPlatform(string rid, string nixSystem, string architecture, string? variant)
    {
        Assert.Equal(new Platform(nixSystem, "linux", architecture, variant), Platform.FromRuntimeIdentifier(rid));
    }

    [Theory]
    [InlineData("win-x64")]
    [InlineData("osx-arm64")]
    [InlineData("linux")]
    [InlineData("x64")]
    [InlineData("linuxmusl-x64")]
    [InlineData("linux-loongarch64")]
    public void NonLinuxOrUnknownRuntimeIdentifierIsUnsupported(string rid)
    {
        var error = Assert.Throws<NixImageException>(() => Platform.FromRuntimeIdentifier(rid));

        Assert.Equal("NIXIMG011", error.Code);
        Assert.Equal(ErrorCodes.UnsupportedPlatform, error.Code);
        Assert.Contains(rid, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void WithoutRuntimeIdentifierTheMachinesArchitectureIsUsed(string? rid)
    {
        var platform = Platform.FromRuntimeIdentifier(rid);

        Assert.Equal("linux", platform.Os);
        Assert.EndsWith("-linux", platform.NixSystem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("x86_64-linux", "amd64", null)]
    [InlineData("aarch64-linux", "arm64", "v8")]
    [InlineData("riscv64-linux", "riscv64", null)]
    public void NixSystemMapsToOciPlatform(string nixSystem, string architecture, string? variant)
    {
        Assert.Equal(new Platform(nixSystem, "linux", architecture, variant), Platform.FromNixSystem(nixSystem));
    }

    [Theory]
    [InlineData("x86_64-darwin")]
    [InlineData("aarch64-darwin")]
    [InlineData("x86_64")]
    [InlineData("")]
    public void UnknownNixSystemIsUnsupported(string nixSystem)
    {
        var error = Assert.Throws<NixImageException>(() => Platform.FromNixSystem(nixSystem));

        Assert.Equal("NIXIMG011", error.Code);
        Assert.Contains("x86_64-linux", error.Message, StringComparison.Ordinal);
    }
}
