using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Settings;

public sealed class RequestFileTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private static ImageRequest Request => new()
    {
        PublishDirectory = "/p/publish",
        Packages = [new("jq", "NixPackage"), new("cacert", "NixDefaultPackages")],
        Source = new NixPackageSource.Git("https://github.com/NixOS/nixpkgs", "4f0dadbf38ee4cf4cc38cbc232b7708fddf965bc"),
        NixSourceIdentity = "git https://github.com/NixOS/nixpkgs 4f0dadbf38ee4cf4cc38cbc232b7708fddf965bc",
        Platform = Platform.FromNixSystem("aarch64-linux"),
        NixMode = NixMode.Lock,
        LockFile = "/p/nix-image.lock.json",
        BinaryCaches = ["https://cache.example", "file:///srv/cache"],
        TrustedPublicKeys = ["example-1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="],
        DotnetRuntimePackage = "dotnetCorePackages.runtime_10_0",
        Repository = "shop/api",
        Tags = ["1.0", "latest"],
        ArchivePath = "/p/image/shop-api.tar",
        WriteArchive = false,
        WorkingDirectory = "/srv",
        Entrypoint = ["/srv/Shop"],
        Command = ["--flag"],
        Environment = [new("TZ", "UTC")],
        User = "1000:1000",
        Ports = ["8080/tcp"],
        Labels = [new("org.opencontainers.image.created", "2023-11-14T22:13:20Z"), new("a.b", "c")],
        IsAspNet = true,
        AppName = "Shop",
        Format = ImageFormat.Docker,
        LayerBudget = 50,
        IntermediateDirectory = "/p/obj/nix-image",
        CacheDirectory = "/c",
        CacheMaxSize = 123456,
        Created = DateTimeOffset.FromUnixTimeSeconds(1700000000),
        CompressionLevel = 3,
        LayerCompression = LayerCompression.Gzip,
    };

    [Fact]
    public void RoundTripsEverySetting()
    {
        var path = _temp.Combine("request.json");
        RequestFile.WriteIfChanged(Request, path);

        var read = RequestFile.Read(path);

        Assert.Equal(RequestFile.Serialize(Request), RequestFile.Serialize(read));
        Assert.Equal(Request.Platform, read.Platform);
        Assert.Equal(Request.Source, read.Source);
    }

    [Fact]
    public void RoundTripsZstdLayers()
    {
        var path = _temp.Combine("request.json");
        var zstd = Request with { Format = ImageFormat.Oci, LayerCompression = LayerCompression.Zstd };
        RequestFile.WriteIfChanged(zstd, path);

        Assert.Equal(LayerCompression.Zstd, RequestFile.Read(path).LayerCompression);
    }

    [Fact]
    public void UnchangedRequestIsNotRewrittenSoItsTimeStays()
    {
        var path = _temp.Combine("request.json");
        Assert.True(RequestFile.WriteIfChanged(Request, path).Wrote);
        File.SetLastWriteTimeUtc(path, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        Assert.False(RequestFile.WriteIfChanged(Request, path).Wrote);
        Assert.Equal(2020, File.GetLastWriteTimeUtc(path).Year);

        Assert.True(RequestFile.WriteIfChanged(Request with { Tags = ["2.0"] }, path).Wrote);
    }

    [Fact]
    public void AFileWrittenFromTheSameInputsKeyIsTakenAsItIsUntilItIsTouched()
    {
        var path = _temp.Combine("request.json");
        var first = RequestFile.WriteIfChanged(Request, path, "key-1");
        Assert.True(first.Wrote);

        // Same key: the file's bytes are handed on without serialising; another request under the same key would
        // not be looked at, which is why the key must cover every input.
        var again = RequestFile.WriteIfChanged(Request with { Tags = ["not looked at"] }, path, "key-1");
        Assert.False(again.Wrote);
        Assert.Equal(first.FileBytes, again.FileBytes);

        // Another key, or a file changed since: serialised and compared as usual.
        Assert.True(RequestFile.WriteIfChanged(Request with { Tags = ["2.0"] }, path, "key-2").Wrote);
        File.SetLastWriteTimeUtc(path, new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        Assert.True(RequestFile.WriteIfChanged(Request, path, "key-2").Wrote);
    }

    [Fact]
    public void UnpinnedPackageSetMakesEveryRequestNew()
    {
        var path = _temp.Combine("request.json");
        var unpinned = Request with { NixSourceIdentity = null };

        Assert.True(RequestFile.WriteIfChanged(unpinned, path).Wrote);
        Assert.True(RequestFile.WriteIfChanged(unpinned, path).Wrote);
    }

    [Fact]
    public void UnreadableRequestIsACodedError()
    {
        var path = _temp.CreateFile("request.json", "{");

        Assert.Equal(ErrorCodes.WriteFailed, Assert.Throws<NixImageException>(() => RequestFile.Read(path)).Code);
    }

    public void Dispose() => _temp.Dispose();
}
