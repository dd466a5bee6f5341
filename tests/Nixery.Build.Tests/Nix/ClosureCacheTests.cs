using Nixery.Build.Nix;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Nix;

public sealed class ClosureCacheTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public void SavedClosureLoadsWhileItsPathsExist()
    {
        var jq = _temp.CreateDirectory("store/aaaa-jq-1.6");
        var lib = _temp.CreateFile("store/bbbb-onig-6.9", "lib");
        var closure = new RuntimeClosure(
            [new ResolvedPackage("jq", "jq", jq, "NixPackage")],
            new SortedDictionary<string, StorePathInfo>(StringComparer.Ordinal)
            {
                [jq] = new StorePathInfo(jq, 1000, [jq, lib]),
                [lib] = new StorePathInfo(lib, 200, []),
            });
        var cache = new ClosureCache(_temp.Combine("obj", "closure.json"));

        cache.Save("f1", closure);

        var loaded = cache.TryLoad("f1");
        Assert.NotNull(loaded);
        Assert.Equal(closure.Packages, loaded.Packages);
        Assert.Equal(closure.Paths.Values.Select(p => (p.Path, p.NarSize, string.Join(',', p.References))), loaded.Paths.Values.Select(p => (p.Path, p.NarSize, string.Join(',', p.References))));
        Assert.Null(cache.TryLoad("f2"));

        File.Delete(lib);
        Assert.Null(cache.TryLoad("f1"));
    }

    [Fact]
    public void PackagesKeepTheirLicenceAndThoseWithoutOneComeBackWithout()
    {
        var jq = _temp.CreateDirectory("store/aaaa-jq-1.6");
        var tzdata = _temp.CreateDirectory("store/cccc-tzdata-2025b");
        var closure = new RuntimeClosure(
            [new ResolvedPackage("jq", "jq", jq, "NixPackage", "out", "MIT"), new ResolvedPackage("tzdata", "tzdata", tzdata, "NixDefaultPackages")],
            new SortedDictionary<string, StorePathInfo>(StringComparer.Ordinal)
            {
                [jq] = new StorePathInfo(jq, 1000, [jq]),
                [tzdata] = new StorePathInfo(tzdata, 500, []),
            });
        var file = _temp.Combine("obj", "closure.json");
        var cache = new ClosureCache(file);

        cache.Save("f1", closure);

        var loaded = cache.TryLoad("f1");
        Assert.NotNull(loaded);
        Assert.Equal(["MIT", null], loaded.Packages.Select(p => p.License));
        Assert.Equal(closure.Packages, loaded.Packages);

        // Written only when there is one: no "license": null.
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(file));
        var packages = document.RootElement.GetProperty("packages").EnumerateArray().ToList();
        Assert.Equal("MIT", packages[0].GetProperty("license").GetString());
        Assert.False(packages[1].TryGetProperty("license", out _));
    }

    [Fact]
    public void GarbledFileIsAMiss()
    {
        File.WriteAllText(_temp.Combine("closure.json"), "{ nope");

        Assert.Null(new ClosureCache(_temp.Combine("closure.json")).TryLoad("f"));
    }

    public void Dispose() => _temp.Dispose();
}
