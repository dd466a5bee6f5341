using System.Text;
using Nixery.Build.Diagnostics;
using Nixery.Build.Engines;
using Nixery.Build.Oci;
using Nixery.Build.Pipeline;
using Nixery.Build.Settings;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Settings;

public sealed class ImageRequestFactoryTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public void EmptySettingsGetTheDefaults()
    {
        var request = ImageRequestFactory.Create(Inputs());

        Assert.Equal(["latest"], request.Tags);
        Assert.Equal("/app", request.WorkingDirectory);
        Assert.Equal(94, request.LayerBudget);
        Assert.Equal("1654", request.User);
        Assert.Equal(ImageFormat.Oci, request.Format);
        Assert.Equal(5, request.CompressionLevel);
        Assert.Equal(LayerCompression.Gzip, request.LayerCompression);
        Assert.Equal(10_000_000_000L, request.CacheMaxSize);
        Assert.Equal(Path.Combine(_temp.Path, "xdg", "nixery-build"), request.CacheDirectory);
        Assert.Equal(Path.Combine(_temp.Path, "bin", "image", "shop.tar"), request.ArchivePath);
        Assert.True(request.WriteArchive);
        Assert.Null(request.OciLayoutPath);
        Assert.Null(request.LocalEngine);
        Assert.Equal(["cacert", "iana-etc"], request.Packages.Where(p => p.Origin == "NixDefaultPackages").Select(p => p.Name));
        Assert.Equal(ImageDefaults.Epoch, request.Created);
        Assert.Equal(["org.opencontainers.image.created", "org.opencontainers.artifact.created", "build.nixery.nix.packages", "build.nixery.nix.source"], request.Labels.Select(l => l.Key));
        Assert.Equal(["/app/Shop"], request.Entrypoint);
    }

    [Theory]
    [InlineData("Podman", null, LocalEngineKind.Podman, false)]
    [InlineData(" docker ", null, LocalEngineKind.Docker, false)]
    [InlineData("podman", "out/app.tar", LocalEngineKind.Podman, true)]
    public void ALocalEngineIsTheDestinationInsteadOfTheArchiveUnlessTheArchiveIsAskedForToo(string localRegistry, string? archive, LocalEngineKind expected, bool writeArchive)
    {
        var request = ImageRequestFactory.Create(Inputs() with { LocalRegistry = localRegistry, ArchiveOutputPath = archive });

        Assert.Equal(expected, request.LocalEngine);
        Assert.Equal(writeArchive, request.WriteArchive);
    }

    [Fact]
    public void AnUnknownLocalEngineIsRefused()
    {
        var error = Assert.Throws<NixImageException>(() => ImageRequestFactory.Create(Inputs() with { LocalRegistry = "containerd" }));

        Assert.Equal(ErrorCodes.InvalidImageSetting, error.Code);
        Assert.Contains("Use Docker or Podman", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TagsAndPackagesGivenTwiceCountOnce()
    {
        var request = ImageRequestFactory.Create(Inputs() with { ImageTags = "1.0;1.0;stable", Packages = ["jq", "jq", "shell"] });

        Assert.Equal(["1.0", "stable"], request.Tags);
        Assert.Single(request.Packages, p => p.Name == "jq");
        Assert.Contains(request.Packages, p => p.Name == "bashInteractive");
    }

    [Theory]
    [InlineData("10GB", 10_000_000_000L)]
    [InlineData("10GiB", 10L << 30)]
    [InlineData("500MB", 500_000_000L)]
    [InlineData("1234", 1234L)]
    public void CacheSizesUseTheirUnits(string value, long bytes) =>
        Assert.Equal(bytes, ImageRequestFactory.Create(Inputs() with { CacheMaxSize = value }).CacheMaxSize);

    [Fact]
    public void WithoutAnyCacheFolderTheLayersStayInTheBuildsOwnFolder()
    {
        var request = ImageRequestFactory.Create(Inputs() with { XdgCacheHome = null, HomeDirectory = null });

        Assert.Null(request.CacheDirectory);
        Assert.StartsWith(request.IntermediateDirectory, request.LayerCacheDirectory, StringComparison.Ordinal);
    }

    [Fact]
    public void OciLayoutPathIsResolvedFromTheProjectFolder()
    {
        var request = ImageRequestFactory.Create(Inputs() with { OciLayoutPath = "out/layout/" });

        Assert.Equal(Path.Combine(_temp.Path, "out", "layout"), request.OciLayoutPath);
    }

    [Fact]
    public void OciLayoutPathThatIsAFileIsNiximg015()
    {
        _temp.CreateFile("image.tar", "x");

        var error = Assert.Throws<NixImageException>(() => ImageRequestFactory.Create(Inputs() with { OciLayoutPath = "image.tar" }));

        Assert.Equal(ErrorCodes.InvalidImageSetting, error.Code);
        Assert.Contains("NixImageOciLayoutPath 'image.tar' is a file", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://registry.example.com", null, null, null, "NIXIMG030")]
    [InlineData("registry.example.com", "bad host!", null, null, "NIXIMG030")]
    [InlineData("registry.example.com", null, "bad host!", null, "NIXIMG030")]
    [InlineData("registry.example.com", null, null, "soon", "NIXIMG039")]
    public void RegistrySettingsAreCheckedHereBeforeAnythingIsBuilt(string registry, string? insecure, string? insecureVariable, string? timeout, string code)
    {
        var error = Assert.Throws<NixImageException>(() => ImageRequestFactory.Create(Inputs() with
        {
            Registry = registry,
            InsecureRegistries = insecure,
            InsecureRegistriesVariable = insecureVariable,
            RegistryTimeout = timeout,
        }));

        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void SettingsTheImageStepWouldRefuseAreRefusedByTheFactory()
    {
        Assert.Equal(ErrorCodes.InvalidImageName, Assert.Throws<NixImageException>(() => ImageRequestFactory.Create(Inputs() with { Repository = "Not A Name" })).Code);
        Assert.Equal(ErrorCodes.InvalidImageName, Assert.Throws<NixImageException>(() => ImageRequestFactory.Create(Inputs() with { ImageTags = "bad tag!" })).Code);
        Assert.Throws<NixImageException>(() => ImageRequestFactory.Create(Inputs() with { EnvironmentVariables = [new("1BAD", "x")] }));
        Assert.Throws<NixImageException>(() => ImageRequestFactory.Create(Inputs() with { User = "99999999999" }));
    }

    [Fact]
    public void WhereToPushIsNotPartOfTheRequest()
    {
        var archived = RequestFile.Serialize(ImageRequestFactory.Create(Inputs() with { ArchiveOutputPath = "image.tar" }) with { NixSourceIdentity = "pinned" });
        var pushed = RequestFile.Serialize(ImageRequestFactory.Create(Inputs() with { ArchiveOutputPath = "image.tar", Registry = "registry.example.com:5000", RegistryTimeout = "60" }) with { NixSourceIdentity = "pinned" });

        Assert.Equal(archived, pushed);
    }

    [Fact]
    public void EveryInputChangesThePreparationKey()
    {
        var inputs = Inputs();
        var request = ImageRequestFactory.Create(inputs) with { NixSourceIdentity = "pinned" };
        var key = ImageFreshness.RequestKey(inputs, request);
        Assert.NotNull(key);
        Assert.Equal(key, ImageFreshness.RequestKey(inputs with { }, request));

        foreach (var property in typeof(ImageInputs).GetProperties())
        {
            var changed = inputs with { };
            var value = property.PropertyType == typeof(string) ? (object)"changed"
                : property.PropertyType == typeof(IReadOnlyList<string>) ? new List<string> { "changed" }
                : new List<KeyValuePair<string, string>> { new("changed", "x") };
            property.SetValue(changed, value);
            Assert.NotEqual(key, ImageFreshness.RequestKey(changed, request));
        }

        Assert.NotEqual(key, ImageFreshness.RequestKey(inputs, request with { NixSourceIdentity = "another package set" }));
        Assert.Null(ImageFreshness.RequestKey(inputs, request with { NixSourceIdentity = null }));
    }

    [Fact]
    public void TheRequestFileHoldsNoDerivedValues()
    {
        var json = Encoding.UTF8.GetString(RequestFile.Serialize(ImageRequestFactory.Create(Inputs()) with { NixSourceIdentity = "pinned" }));

        Assert.DoesNotContain("summaryPath", json, StringComparison.Ordinal);
        Assert.DoesNotContain("layerCacheDirectory", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"popularity\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("unpinned", json, StringComparison.Ordinal);
        Assert.Contains("\"platform\":\"x86_64-linux\"", json.Replace(" ", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("gzip", LayerCompression.Gzip, 5)]
    [InlineData(" GZip ", LayerCompression.Gzip, 5)]
    [InlineData("zstd", LayerCompression.Zstd, 2)]
    [InlineData("ZSTD", LayerCompression.Zstd, 2)]
    public void LayerCompressionIsGzipOrZstdInAnyCaseEachWithItsDefaultLevel(string value, LayerCompression expected, int level)
    {
        var request = ImageRequestFactory.Create(Inputs() with { LayerCompression = value });

        Assert.Equal(expected, request.LayerCompression);
        Assert.Equal(level, request.CompressionLevel);
    }

    [Theory]
    [InlineData("xz")]
    [InlineData("gzip;zstd")]
    [InlineData("zst")]
    public void AnotherLayerCompressionIsACodedErrorNamingTheAllowedValues(string value)
    {
        var error = Assert.Throws<NixImageException>(() => ImageRequestFactory.Create(Inputs() with { LayerCompression = value }));

        Assert.Equal(ErrorCodes.InvalidCacheSetting, error.Code);
        Assert.Contains($"'{value}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("gzip (the default) or zstd", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gzip", "9", 9)]
    [InlineData("zstd", "19", 19)]
    [InlineData("zstd", "1", 1)]
    public void CompressionLevelIsTheCodecsOwn(string compression, string level, int expected) =>
        Assert.Equal(expected, ImageRequestFactory.Create(Inputs() with { LayerCompression = compression, CompressionLevel = level }).CompressionLevel);

    [Theory]
    [InlineData("gzip", "10", "a gzip level", "to 9")]
    [InlineData("zstd", "20", "a zstd level", "to 19")]
    [InlineData("zstd", "0", "a zstd level", "to 19")]
    public void CompressionLevelBeyondTheCodecIsACodedError(string compression, string level, string what, string range)
    {
        var error = Assert.Throws<NixImageException>(() => ImageRequestFactory.Create(Inputs() with { LayerCompression = compression, CompressionLevel = level }));

        Assert.Equal(ErrorCodes.InvalidCacheSetting, error.Code);
        Assert.Contains(what, error.Message, StringComparison.Ordinal);
        Assert.Contains(range, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZstdWithTheDockerFormatIsACodedErrorAtRequestTime()
    {
        var error = Assert.Throws<NixImageException>(() => ImageRequestFactory.Create(Inputs() with { LayerCompression = "zstd", ImageFormat = "Docker" }));

        Assert.Equal(ErrorCodes.LayerCompressionNotInFormat, error.Code);
        Assert.Contains("ContainerImageFormat=OCI", error.Message, StringComparison.Ordinal);
        Assert.Equal(LayerCompression.Gzip, ImageRequestFactory.Create(Inputs() with { ImageFormat = "Docker" }).LayerCompression);
    }

    [Fact]
    public void ARequestMadeElsewhereWithZstdAndDockerIsRefusedByTheChecksToo()
    {
        var request = ImageRequestFactory.Create(Inputs() with { LayerCompression = "zstd" }) with { Format = ImageFormat.Docker };

        Assert.Equal(ErrorCodes.LayerCompressionNotInFormat, Assert.Throws<NixImageException>(() => ImageRequestChecks.LayerMediaType(request)).Code);
        Assert.Equal(ErrorCodes.LayerCompressionNotInFormat, Assert.Throws<NixImageException>(() => ImageRequestChecks.ValidateSettings(request)).Code);
        Assert.Equal(MediaTypes.OciLayerZstd, ImageRequestChecks.LayerMediaType(request with { Format = ImageFormat.Oci }));
    }

    [Fact]
    public void TheFactorysHighestZstdLevelIsTheCodecs() =>
        Assert.Equal(ImageRequestFactory.MaxZstdCompressionLevel, Nixery.Build.LayerFormat.ZstdLayerCodec.Instance.MaxLevel);

    private ImageInputs Inputs() => new()
    {
        ProjectDirectory = _temp.Path,
        PublishDirectory = "publish",
        IntermediateDirectory = "obj/nix-image",
        DefaultArchiveDirectory = "bin/image",
        AssemblyName = "Shop",
        RuntimeIdentifier = "linux-x64",
        AppHostFileName = "Shop",
        AppFileName = "Shop.dll",
        XdgCacheHome = _temp.Combine("xdg"),
    };
}
