using System.Security.Cryptography;
using System.Text;
using Nixery.Build.LayerFormat;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Pipeline;
using Nixery.Build.Settings;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Pipeline;

/// <summary>The keys the freshness owner hands down (closure, layers) and its view of the lock file.</summary>
public sealed class ImageFreshnessTests : IDisposable
{
    private const string Jq = "/nix/store/0a3bcdwmj6fyx0azsd5y3rfjhhq6xwc3-jq-1.7.1-bin";
    private static readonly LayerWriterSettings Settings = new(DateTimeOffset.FromUnixTimeSeconds(1), 6);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void TheClosureKeyChangesWithEveryInputAndIsNullWhenUnpinned()
    {
        var request = Request();
        var key = ImageFreshness.ClosureKey(request);

        Assert.Matches("^[0-9a-f]{64}$", key);
        Assert.Equal(key, ImageFreshness.ClosureKey(Request()));
        Assert.Null(ImageFreshness.ClosureKey(request with { NixSourceIdentity = null }));
        Assert.NotEqual(key, ImageFreshness.ClosureKey(request with { NixSourceIdentity = "git x z" }));
        Assert.NotEqual(key, ImageFreshness.ClosureKey(request with { Platform = Platform.FromNixSystem("aarch64-linux") }));
        Assert.NotEqual(key, ImageFreshness.ClosureKey(request with { Packages = [new("jq", "NixDefaultPackages")] }));
        Assert.NotEqual(key, ImageFreshness.ClosureKey(request with { Packages = [.. request.Packages, new("curl", "NixPackage")] }));

        // Settings that do not decide the closure leave it alone: its cache survives them.
        Assert.Equal(key, ImageFreshness.ClosureKey(request with { Tags = ["other"], LayerBudget = 3, CompressionLevel = 9 }));
    }

    [Fact]
    public void LayerKeysDependOnKindSettingsAndOrderedInputs()
    {
        var key = ImageFreshness.LayerKey("nix", Settings, ["/nix/store/a", "/nix/store/b"]);

        Assert.Equal(key, ImageFreshness.LayerKey("nix", Settings, ["/nix/store/a", "/nix/store/b"]));
        Assert.NotEqual(key, ImageFreshness.LayerKey("nix", Settings, ["/nix/store/b", "/nix/store/a"]));
        Assert.NotEqual(key, ImageFreshness.LayerKey("app", Settings, ["/nix/store/a", "/nix/store/b"]));
        Assert.NotEqual(key, ImageFreshness.LayerKey("nix", Settings with { CompressionLevel = 1 }, ["/nix/store/a", "/nix/store/b"]));
        Assert.NotEqual(key, ImageFreshness.LayerKey("nix", Settings with { ModificationTime = DateTimeOffset.FromUnixTimeSeconds(2) }, ["/nix/store/a", "/nix/store/b"]));
        Assert.Matches("^[0-9a-f]{64}$", key);
    }

    [Fact]
    public void KeysAreStableAcrossVersionsSoUpgradingKeepsTheCaches()
    {
        // Changing what a key hashes empties every user's closure and layer cache: do it on purpose, here.
        Assert.Equal("cb492e971f500733064ce73d28ebcacf91d9361177a3c8cfe1b28634bf86fceb", ImageFreshness.ClosureKey(Request()));
        // A layer's key names the codec's library version (Settings' text), so it is pinned by what it hashes.
        var layerText = "nixery-build layer\nnix\n" + Settings + "\n/nix/store/a\n/nix/store/b\n";
        Assert.Equal(
            Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(layerText))),
            ImageFreshness.LayerKey("nix", Settings, ["/nix/store/a", "/nix/store/b"]));
    }

    [Fact]
    public void ABuildWithoutNixReadsTheLockSoItIsAlwaysCurrent()
    {
        Assert.True(ImageFreshness.LockIsCurrent(Request() with { NixMode = NixMode.Lock }));
    }

    [Fact]
    public void ALockIsCurrentOnlyWhileItHoldsThisPlatformForThesePackagesAndThisPackageSet()
    {
        var request = Request();
        Assert.False(ImageFreshness.LockIsCurrent(request));

        ImageFreshness.WriteLock(request, Closure(), new RecordingLog());
        Assert.True(ImageFreshness.LockIsCurrent(request));

        Assert.False(ImageFreshness.LockIsCurrent(request with { Packages = [.. request.Packages, new("curl", "NixPackage")] }));
        Assert.False(ImageFreshness.LockIsCurrent(request with { Platform = Platform.FromNixSystem("aarch64-linux") }));
        Assert.False(ImageFreshness.LockIsCurrent(request with { Source = new NixPackageSource.Git("https://example.test/nixpkgs", "abc") }));

        File.WriteAllText(request.LockFile, "{ not json");
        Assert.False(ImageFreshness.LockIsCurrent(request));

        File.Delete(request.LockFile);
        Assert.False(ImageFreshness.LockIsCurrent(request));
    }

    private static RuntimeClosure Closure() => new(
        [new ResolvedPackage("jq", "jq", Jq, "NixPackage", "bin")],
        new SortedDictionary<string, StorePathInfo>(StringComparer.Ordinal)
        {
            [Jq] = new StorePathInfo(Jq, 1000, [Jq], NarHash.FromBytes(new byte[32])),
        });

    private ImageRequest Request() => LockRequests.Create(
        _temp,
        "shop/api",
        _temp.Combine("nix-image.lock.json"),
        new NixPackageSource.Git("https://github.com/NixOS/nixpkgs", "9f0c42f8bc7151b8e7e5840fb3bd454ad850d8c5"),
        [new("jq", "NixPackage")]) with
    {
        NixMode = NixMode.Nix,
        NixSourceIdentity = "git x y",
    };
}
