using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Registry;

namespace Nixery.Build.Tests.Registry;

/// <summary>
/// ContainerBaseImage references read as Docker reads them: Docker Hub unless the first component names a registry,
/// <c>library/</c> for one-component Hub names, <c>latest</c> when neither a tag nor a digest is given.
/// </summary>
public class ImageReferenceTests
{
    private static readonly string Hex = new string('0', 32) + new string('f', 32);
    private static readonly string PinnedDigest = "sha256:" + Hex;

    [Theory]
    [InlineData("busybox", "library/busybox", "latest")]
    [InlineData("busybox:1.36", "library/busybox", "1.36")]
    [InlineData("x/y:1", "x/y", "1")]
    [InlineData("docker.io/x/y:1", "x/y", "1")]
    [InlineData("docker.io/busybox", "library/busybox", "latest")]
    [InlineData("index.docker.io/library/busybox:musl", "library/busybox", "musl")]
    [InlineData("myregistry/base", "myregistry/base", "latest")]
    public void NamesWithoutARegistryComponentAreDockerHub(string text, string repository, string tag)
    {
        var reference = ImageReference.Parse(text);

        Assert.Equal(ImageReference.DockerHubApi, reference.Registry.Name);
        Assert.Equal(ImageReference.DockerHub, reference.RegistryName);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Null(reference.Digest);
        Assert.Equal(tag, reference.Reference);
    }

    [Fact]
    public void BusyboxIsWrittenOutInFull()
    {
        var reference = ImageReference.Parse("busybox");

        Assert.Equal("registry-1.docker.io", reference.Registry.Name);
        Assert.Equal("docker.io/library/busybox:latest", reference.ToString());
    }

    [Theory]
    [InlineData("localhost:5000/base:1", "localhost", 5000, "base", "1")]
    [InlineData("localhost/base", "localhost", null, "base", "latest")]
    [InlineData("host.example.com/team/base:1.2", "host.example.com", null, "team/base", "1.2")]
    [InlineData("mcr.microsoft.com/dotnet/runtime-deps:10.0", "mcr.microsoft.com", null, "dotnet/runtime-deps", "10.0")]
    [InlineData("[::1]:5000/base:v1", "[::1]", 5000, "base", "v1")]
    public void AFirstComponentWithADotAColonOrLocalhostIsTheRegistry(string text, string host, int? port, string repository, string tag)
    {
        var reference = ImageReference.Parse(text);

        Assert.Equal(host, reference.Registry.Host);
        Assert.Equal(port, reference.Registry.Port);
        Assert.Equal(repository, reference.Repository);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(reference.Registry.Name, reference.RegistryName);
    }

    [Fact]
    public void AnotherRegistryKeepsAOneComponentRepositoryAsItIs()
    {
        var reference = ImageReference.Parse("localhost:5000/base");

        Assert.Equal("base", reference.Repository);
        Assert.Equal("localhost:5000/base:latest", reference.ToString());
    }

    [Fact]
    public void ADigestAloneLeavesTheTagUnsetAndIsWhatAManifestRequestNames()
    {
        var reference = ImageReference.Parse($"127.0.0.1:5000/a/b@{PinnedDigest}");

        Assert.Equal("127.0.0.1:5000", reference.Registry.Name);
        Assert.Equal("a/b", reference.Repository);
        Assert.Null(reference.Tag);
        Assert.Equal(Digest.Parse(PinnedDigest), reference.Digest);
        Assert.Equal(PinnedDigest, reference.Reference);
        Assert.Equal($"127.0.0.1:5000/a/b@{PinnedDigest}", reference.ToString());
    }

    [Fact]
    public void ATagAndADigestAreBothKeptAndTheDigestDecides()
    {
        var reference = ImageReference.Parse($"host.example.com/team/base:1.2@{PinnedDigest}");

        Assert.Equal("host.example.com", reference.Registry.Name);
        Assert.Equal("team/base", reference.Repository);
        Assert.Equal("1.2", reference.Tag);
        Assert.Equal(PinnedDigest, reference.Digest?.Value);
        Assert.Equal(PinnedDigest, reference.Reference);
        Assert.Equal($"host.example.com/team/base:1.2@{PinnedDigest}", reference.ToString());
    }

    [Fact]
    public void SurroundingWhitespaceIsIgnored() =>
        Assert.Equal(ImageReference.Parse("alpine:3.20"), ImageReference.Parse("  alpine:3.20 \n"));

    [Theory]
    [InlineData("busybox")]
    [InlineData("docker.io/x/y:1")]
    [InlineData("localhost:5000/base:1")]
    [InlineData("[::1]:5000/a/b")]
    [InlineData("127.0.0.1:5000/a/b@sha256:00000000000000000000000000000000ffffffffffffffffffffffffffffffff")]
    [InlineData("host.example.com/team/base:1.2@sha256:00000000000000000000000000000000ffffffffffffffffffffffffffffffff")]
    public void TheWrittenOutReferenceParsesBackToTheSameReference(string text)
    {
        var reference = ImageReference.Parse(text);

        Assert.Equal(reference, ImageReference.Parse(reference.ToString()));
    }

    [Theory]
    [InlineData("Busybox")]
    [InlineData("host.example.com/Team/base:1")]
    [InlineData("base:-x")]
    [InlineData("base:.x")]
    [InlineData("base:")]
    [InlineData("base:a/b")]
    [InlineData("base@sha256:abc")]
    [InlineData("base@sha256:00000000000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF")]
    [InlineData("base@md5:0123456789abcdef0123456789abcdef")]
    [InlineData("base:1@")]
    [InlineData("host:99999/x")]
    [InlineData("host:0/x")]
    [InlineData("bad_host.example.com/x")]
    [InlineData("")]
    [InlineData("/base")]
    [InlineData("team//base")]
    public void InvalidReferencesAreNIXIMG043(string text)
    {
        var error = Assert.Throws<NixImageException>(() => ImageReference.Parse(text));

        Assert.Equal(ErrorCodes.InvalidBaseImage, error.Code);
        Assert.Equal("NIXIMG043", error.Code);
    }

    [Fact]
    public void TheErrorNamesTheSettingTheValueAndWhatIsWrong()
    {
        var error = Assert.Throws<NixImageException>(() => ImageReference.Parse("base:-x", "SomeSetting"));

        Assert.Contains("SomeSetting 'base:-x'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'-x'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadPortIsReportedAsARegistryName()
    {
        var error = Assert.Throws<NixImageException>(() => ImageReference.Parse("host:99999/x"));

        Assert.Contains("'host:99999' is not a registry name", error.Message, StringComparison.Ordinal);
    }
}
