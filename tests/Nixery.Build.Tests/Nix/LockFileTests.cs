using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Nix;

public sealed class LockFileTests : IDisposable
{
    private const string Jq = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-jq-1.7.1-bin";
    private const string JqLib = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-jq-1.7.1-lib";
    private const string Oniguruma = "/nix/store/cccccccccccccccccccccccccccccccc-oniguruma-6.9.9-lib";
    private const string Glibc = "/nix/store/dddddddddddddddddddddddddddddddd-glibc-2.39-52";
    private const string Cacert = "/nix/store/ffffffffffffffffffffffffffffffff-nss-cacert-3.98";
    private const string JqDeriver = "/nix/store/gggggggggggggggggggggggggggggggg-jq-1.7.1.drv";

    private readonly TempDirectory _temp = new();

    private string LockPath => _temp.Combine(LockFile.FileName);

    private static NarHash HashOf(string seed) => NarHash.FromBytes(SHA256.HashData(Encoding.UTF8.GetBytes(seed)));

    private static StorePathInfo Info(string path, long size, string[] references, string? deriver = null) =>
        new(path, size, references, HashOf(path), deriver);

    /// <summary>jq and cacert: paths and references listed out of order on purpose, jq with its deriver.</summary>
    private static LockedPlatform X86(bool reversed = false)
    {
        StorePathInfo[] infos =
        [
            Info(Jq, 1000, [JqLib, Glibc, Jq], JqDeriver),
            Info(JqLib, 800, [Oniguruma, Glibc]),
            Info(Oniguruma, 600, [Glibc]),
            Info(Glibc, 30000, [Glibc]),
            Info(Cacert, 500, []),
        ];
        var paths = new Dictionary<string, StorePathInfo>(StringComparer.Ordinal);
        foreach (var info in reversed ? infos.Reverse() : infos)
        {
            paths[info.Path] = reversed ? info with { References = info.References.Reverse().ToList() } : info;
        }

        return new LockedPlatform(
            "git https://github.com/NixOS/nixpkgs 4f0dadbf38ee4cf4cc38cbc232b7708fddf965bc",
            [new ResolvedPackage("cacert", "cacert", Cacert, "NixDefaultPackages"), new ResolvedPackage("jq", "jq", Jq, "NixPackage")],
            paths);
    }

    private static LockedPlatform Aarch64 => new(
        "channel https://example.org/nixexprs.tar.xz",
        [new ResolvedPackage("hello", "hello", "/nix/store/hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh-hello-2.12.1", "NixPackage")],
        new Dictionary<string, StorePathInfo>(StringComparer.Ordinal)
        {
            ["/nix/store/hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh-hello-2.12.1"] = Info("/nix/store/hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh-hello-2.12.1", 200, []),
        });

    private static Dictionary<string, LockedPlatform> Both(bool reversed = false)
    {
        var platforms = new Dictionary<string, LockedPlatform>(StringComparer.Ordinal);
        if (reversed)
        {
            platforms["x86_64-linux"] = X86(reversed: true);
            platforms["aarch64-linux"] = Aarch64;
        }
        else
        {
            platforms["aarch64-linux"] = Aarch64;
            platforms["x86_64-linux"] = X86();
        }

        return platforms;
    }

    private static void AssertSamePlatform(LockedPlatform expected, LockedPlatform actual)
    {
        Assert.Equal(expected.Source, actual.Source);
        Assert.Equal(expected.Packages, actual.Packages);
        Assert.Equal(expected.Paths.Keys.Order(StringComparer.Ordinal), actual.Paths.Keys);
        foreach (var (path, info) in expected.Paths)
        {
            var read = actual.Paths[path];
            Assert.Equal(path, read.Path);
            Assert.Equal(info.NarSize, read.NarSize);
            Assert.Equal(info.NarHash, read.NarHash);
            Assert.Equal(info.References.Order(StringComparer.Ordinal), read.References);
        }
    }

    /// <summary>The text of one platform's part of a lock file, as it stands in the file.</summary>
    private static string PlatformText(byte[] lockBytes, string system)
    {
        using var document = JsonDocument.Parse(lockBytes);
        return document.RootElement.GetProperty("platforms").GetProperty(system).GetRawText();
    }

    [Fact]
    public void SerializeThenParseGivesBackEveryPlatform()
    {
        var platforms = Both();

        var read = LockFile.Parse(LockFile.Serialize(platforms));

        Assert.Equal(["aarch64-linux", "x86_64-linux"], read.Keys);
        AssertSamePlatform(platforms["x86_64-linux"], read["x86_64-linux"]);
        AssertSamePlatform(platforms["aarch64-linux"], read["aarch64-linux"]);
        Assert.Equal(platforms["x86_64-linux"].Packages, read["x86_64-linux"].Closure.Packages);
        Assert.Equal(5, read["x86_64-linux"].Closure.Paths.Count);
    }

    [Fact]
    public void TheSameLockInAnotherOrderIsTheSameBytes()
    {
        var first = LockFile.Serialize(Both());
        var second = LockFile.Serialize(Both(reversed: true));

        Assert.Equal(first, second);
    }

    [Fact]
    public void TheFileIsIndentedWithUnixLineEndingsSortedAndEndsWithANewline()
    {
        var text = Encoding.UTF8.GetString(LockFile.Serialize(Both(reversed: true)));

        Assert.StartsWith("{\n  \"version\": 2,\n  \"platforms\": {\n    \"aarch64-linux\": {\n      \"source\": ", text, StringComparison.Ordinal);
        Assert.EndsWith("}\n", text, StringComparison.Ordinal);
        Assert.False(text.EndsWith("\n\n", StringComparison.Ordinal));
        Assert.DoesNotContain('\r', text);
        Assert.True(text.IndexOf("\"aarch64-linux\"", StringComparison.Ordinal) < text.IndexOf("\"x86_64-linux\"", StringComparison.Ordinal));

        // Closure paths sorted, whatever order the dictionary had.
        using var document = JsonDocument.Parse(text);
        var x86 = document.RootElement.GetProperty("platforms").GetProperty("x86_64-linux");
        var closurePaths = x86.GetProperty("closure").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(closurePaths.Order(StringComparer.Ordinal), closurePaths);
        Assert.Equal(5, closurePaths.Count);

        // References sorted, whatever order Nix gave them in.
        foreach (var path in x86.GetProperty("closure").EnumerateObject())
        {
            var references = path.Value.GetProperty("references").EnumerateArray().Select(r => r.GetString()!).ToList();
            Assert.Equal(references.Order(StringComparer.Ordinal), references);
        }

        Assert.Equal([Jq, JqLib, Glibc], x86.GetProperty("closure").GetProperty(Jq).GetProperty("references").EnumerateArray().Select(r => r.GetString()));

        // Packages keep their order (it is the project's, which Mismatch compares).
        Assert.Equal(["cacert", "jq"], x86.GetProperty("packages").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
    }

    [Fact]
    public void EachPathIsWrittenWithItsNarHashInNixBase32AndItsSize()
    {
        using var document = JsonDocument.Parse(LockFile.Serialize(Both()));
        var jq = document.RootElement.GetProperty("platforms").GetProperty("x86_64-linux").GetProperty("closure").GetProperty(Jq);

        Assert.Equal(HashOf(Jq).ToString(), jq.GetProperty("narHash").GetString());
        Assert.StartsWith("sha256:", jq.GetProperty("narHash").GetString(), StringComparison.Ordinal);
        Assert.Equal(7 + 52, jq.GetProperty("narHash").GetString()!.Length);
        Assert.Equal(1000, jq.GetProperty("narSize").GetInt64());
    }

    [Fact]
    public void NameAndVersionComeFromTheDeriverWhenKnownElseFromTheStorePathName()
    {
        using var document = JsonDocument.Parse(LockFile.Serialize(Both()));
        var closure = document.RootElement.GetProperty("platforms").GetProperty("x86_64-linux").GetProperty("closure");

        (string?, string?) NameOf(string path) =>
            (closure.GetProperty(path).GetProperty("name").GetString(), closure.GetProperty(path).GetProperty("version").GetString());

        // jq-1.7.1.drv built jq-1.7.1-bin: the version is the derivation's, without the output name.
        Assert.Equal(("jq", "1.7.1"), NameOf(Jq));

        // No deriver: parseDrvName of the store path's name.
        Assert.Equal(("jq", "1.7.1-lib"), NameOf(JqLib));
        Assert.Equal(("oniguruma", "6.9.9-lib"), NameOf(Oniguruma));
        Assert.Equal(("glibc", "2.39-52"), NameOf(Glibc));
        Assert.Equal(("nss-cacert", "3.98"), NameOf(Cacert));
    }

    [Fact]
    public void TheDeriversPathIsKeptSoABuildFromTheLockNamesTheSameDerivation()
    {
        using var document = JsonDocument.Parse(LockFile.Serialize(Both()));
        var closure = document.RootElement.GetProperty("platforms").GetProperty("x86_64-linux").GetProperty("closure");
        Assert.EndsWith("-jq-1.7.1.drv", closure.GetProperty(Jq).GetProperty("deriver").GetString(), StringComparison.Ordinal);
        Assert.False(closure.GetProperty(JqLib).TryGetProperty("deriver", out _));

        var parsed = LockFile.Parse(LockFile.Serialize(Both()))["x86_64-linux"].Paths;
        Assert.Equal(Both()["x86_64-linux"].Paths[Jq].Deriver, parsed[Jq].Deriver);
        Assert.Equal("jq-1.7.1-lib.drv", parsed[JqLib].Deriver);
    }

    [Fact]
    public void AnUnknownDeriverCountsAsNone()
    {
        var platform = new LockedPlatform("NIX_PATH <nixpkgs>", [], new Dictionary<string, StorePathInfo>
        {
            [Cacert] = Info(Cacert, 500, [], "unknown-deriver"),
        });

        using var document = JsonDocument.Parse(LockFile.Serialize(new Dictionary<string, LockedPlatform> { ["x86_64-linux"] = platform }));
        var cacert = document.RootElement.GetProperty("platforms").GetProperty("x86_64-linux").GetProperty("closure").GetProperty(Cacert);

        Assert.Equal("nss-cacert", cacert.GetProperty("name").GetString());
        Assert.Equal("3.98", cacert.GetProperty("version").GetString());
    }

    [Fact]
    public void UpdateCreatesTheFile()
    {
        Assert.True(LockFile.Update(LockPath, "x86_64-linux", X86()));

        Assert.Equal(LockFile.Serialize(new Dictionary<string, LockedPlatform> { ["x86_64-linux"] = X86() }), File.ReadAllBytes(LockPath));
        var read = LockFile.Read(LockPath);
        Assert.Equal(["x86_64-linux"], read.Keys);
        AssertSamePlatform(X86(), read["x86_64-linux"]);
        Assert.False(File.Exists(LockPath + ".partial"));
    }

    [Fact]
    public void UpdateKeepsTheOtherPlatforms()
    {
        Assert.True(LockFile.Update(LockPath, "aarch64-linux", Aarch64));
        Assert.True(LockFile.Update(LockPath, "x86_64-linux", X86()));

        var read = LockFile.Read(LockPath);
        Assert.Equal(["aarch64-linux", "x86_64-linux"], read.Keys);
        AssertSamePlatform(Aarch64, read["aarch64-linux"]);
        AssertSamePlatform(X86(), read["x86_64-linux"]);
    }

    [Fact]
    public void UpdateReplacesOnlyItsOwnPlatform()
    {
        LockFile.Update(LockPath, "aarch64-linux", Aarch64);
        LockFile.Update(LockPath, "x86_64-linux", X86());
        var newer = Aarch64 with { Source = "channel https://example.org/newer.tar.xz" };

        Assert.True(LockFile.Update(LockPath, "aarch64-linux", newer));

        var read = LockFile.Read(LockPath);
        Assert.Equal("channel https://example.org/newer.tar.xz", read["aarch64-linux"].Source);
        AssertSamePlatform(X86(), read["x86_64-linux"]);
    }

    /// <summary>
    /// PRODUCT BUG (LockFile.Update/Parse): Parse does not read back the deriver-derived name/version, so when another
    /// platform is updated, this platform's entries are re-serialized with the name/version taken from the store path
    /// name ("jq", "1.7.1-bin") instead of the deriver's ("jq", "1.7.1"): the lock churns between platform updates and
    /// never settles.
    /// </summary>
    [Fact]
    public void UpdatingAnotherPlatformLeavesThisPlatformsTextAsItWas()
    {
        LockFile.Update(LockPath, "x86_64-linux", X86());
        var x86Before = PlatformText(File.ReadAllBytes(LockPath), "x86_64-linux");

        LockFile.Update(LockPath, "aarch64-linux", Aarch64);

        Assert.Equal(x86Before, PlatformText(File.ReadAllBytes(LockPath), "x86_64-linux"));

        // And so recording the same x86_64 closure again changes nothing.
        Assert.False(LockFile.Update(LockPath, "x86_64-linux", X86()));
    }

    [Fact]
    public void UpdateWithNothingNewLeavesTheFileAlone()
    {
        LockFile.Update(LockPath, "aarch64-linux", Aarch64);
        var before = File.ReadAllBytes(LockPath);
        var old = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(LockPath, old);

        Assert.False(LockFile.Update(LockPath, "aarch64-linux", Aarch64));

        Assert.Equal(old, File.GetLastWriteTimeUtc(LockPath));
        Assert.Equal(before, File.ReadAllBytes(LockPath));
        Assert.False(File.Exists(LockPath + ".partial"));
    }

    [Fact]
    public void UpdateWithTheSameClosureInAnotherOrderLeavesTheFileAlone()
    {
        LockFile.Update(LockPath, "x86_64-linux", X86());
        var before = File.ReadAllBytes(LockPath);

        Assert.False(LockFile.Update(LockPath, "x86_64-linux", X86(reversed: true)));

        Assert.Equal(before, File.ReadAllBytes(LockPath));
    }

    [Theory]
    [InlineData("{ nope")]
    [InlineData("")]
    [InlineData("{\"version\": 2, \"platforms\": {}}")]
    [InlineData("[1, 2, 3]")]
    public void UpdateReplacesAnUnreadableFile(string content)
    {
        File.WriteAllText(LockPath, content);

        Assert.True(LockFile.Update(LockPath, "aarch64-linux", Aarch64));

        var read = LockFile.Read(LockPath);
        Assert.Equal(["aarch64-linux"], read.Keys);
        AssertSamePlatform(Aarch64, read["aarch64-linux"]);
    }

    [Fact]
    public void UpdateRefusesAPathWithoutANarHashAndWritesNothing()
    {
        var platform = Aarch64 with
        {
            Paths = new Dictionary<string, StorePathInfo> { [Cacert] = new StorePathInfo(Cacert, 500, []) },
        };

        var error = Assert.Throws<InvalidOperationException>(() => LockFile.Update(LockPath, "aarch64-linux", platform));

        Assert.Contains(Cacert, error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(LockPath));
    }

    [Fact]
    public void ReadingAMissingLockIsNiximg047()
    {
        var error = Assert.Throws<NixImageException>(() => LockFile.Read(LockPath));

        Assert.Equal(ErrorCodes.LockFileMissing, error.Code);
        Assert.Equal("NIXIMG047", error.Code);
        Assert.Contains(LockPath, error.Message, StringComparison.Ordinal);
        Assert.Contains("NixLock", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ nope")]
    [InlineData("")]
    [InlineData("{\"version\": 2}")]
    [InlineData("{\"version\": \"1\", \"platforms\": {}}")]
    [InlineData("{\"version\": 2, \"platforms\": []}")]
    [InlineData("{\"version\": 2, \"platforms\": {\"x86_64-linux\": {\"source\": \"s\", \"packages\": [], \"closure\": {\"/nix/store/x\": {\"narHash\": \"md5:abc\", \"narSize\": 1, \"references\": []}}}}}")]
    public void ReadingABrokenLockIsNiximg047(string content)
    {
        File.WriteAllText(LockPath, content);

        var error = Assert.Throws<NixImageException>(() => LockFile.Read(LockPath));

        Assert.Equal(ErrorCodes.LockFileMissing, error.Code);
        Assert.Contains(LockPath, error.Message, StringComparison.Ordinal);
        Assert.NotNull(error.InnerException);
    }

    [Fact]
    public void ReadingALockOfAnotherVersionIsNiximg047ThatSaysSo()
    {
        var text = Encoding.UTF8.GetString(LockFile.Serialize(Both())).Replace("\"version\": 2", "\"version\": 3", StringComparison.Ordinal);
        File.WriteAllText(LockPath, text);

        var error = Assert.Throws<NixImageException>(() => LockFile.Read(LockPath));

        Assert.Equal(ErrorCodes.LockFileMissing, error.Code);
        Assert.Contains("version 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APackagesLicenceIsWrittenAfterItsStorePathOnlyWhenItHasOne()
    {
        var platforms = Both();
        var x86 = platforms["x86_64-linux"];
        platforms["x86_64-linux"] = x86 with { Packages = [x86.Packages[0], x86.Packages[1] with { License = "MIT" }] };

        var bytes = LockFile.Serialize(platforms);

        var text = Encoding.UTF8.GetString(bytes);
        Assert.Contains($"\"storePath\": \"{Jq}\",\n          \"license\": \"MIT\"\n        }}", text, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(bytes);
        var cacert = document.RootElement.GetProperty("platforms").GetProperty("x86_64-linux").GetProperty("packages")[0];
        Assert.False(cacert.TryGetProperty("license", out _));
        Assert.Equal([null, "MIT"], LockFile.Parse(bytes)["x86_64-linux"].Packages.Select(p => p.License));
        Assert.Equal(platforms["x86_64-linux"].Packages, LockFile.Parse(bytes)["x86_64-linux"].Packages);
    }

    [Fact]
    public void ALockWrittenBeforeLicencesWereRecordedReadsWithNone()
    {
        // Version 2 as the releases before licences wrote it: packages without "license".
        var text = $$"""
            {
              "version": 2,
              "platforms": {
                "x86_64-linux": {
                  "source": "channel https://example.org/nixexprs.tar.xz",
                  "packages": [
                    {
                      "name": "jq",
                      "origin": "NixPackage",
                      "attrPath": "jq",
                      "output": "bin",
                      "storePath": "{{Jq}}"
                    }
                  ],
                  "closure": {
                    "{{Jq}}": {
                      "name": "jq",
                      "version": "1.7.1",
                      "narHash": "{{HashOf(Jq)}}",
                      "narSize": 1000,
                      "references": []
                    }
                  }
                }
              }
            }
            """;
        File.WriteAllText(LockPath, text);

        var locked = LockFile.Read(LockPath)["x86_64-linux"];

        Assert.Equal([new ResolvedPackage("jq", "jq", Jq, "NixPackage", "bin")], locked.Packages);
        Assert.Null(locked.Packages[0].License);
        Assert.Null(LockFile.Mismatch(locked, "channel https://example.org/nixexprs.tar.xz", [new PackageRequest("jq", "NixPackage")]));
    }

    [Fact]
    public void ALicenceGivenAsNullIsNone()
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse(LockFile.Serialize(Both()))!;
        json["platforms"]!["x86_64-linux"]!["packages"]![1]!["license"] = null;

        var read = LockFile.Parse(Encoding.UTF8.GetBytes(json.ToJsonString()));

        Assert.Null(read["x86_64-linux"].Packages[1].License);
    }

    [Fact]
    public void UpdatingALockWithoutLicencesWithTheSameClosureAndItsLicencesWritesThem()
    {
        // A lock from before licences, then a build with Nix of this version: the same closure, now with licences.
        LockFile.Update(LockPath, "x86_64-linux", X86());
        var x86 = X86();
        var licensed = x86 with { Packages = [x86.Packages[0] with { License = "MPL-2.0" }, x86.Packages[1] with { License = "MIT" }] };

        Assert.True(LockFile.Update(LockPath, "x86_64-linux", licensed));

        Assert.Equal(["MPL-2.0", "MIT"], LockFile.Read(LockPath)["x86_64-linux"].Packages.Select(p => p.License));
        Assert.False(LockFile.Update(LockPath, "x86_64-linux", licensed));
    }

    [Fact]
    public void TheLicenceDoesNotMakeALockStale()
    {
        var x86 = X86();
        var licensed = x86 with { Packages = [x86.Packages[0], x86.Packages[1] with { License = "MIT" }] };
        PackageRequest[] wanted = [new("cacert", "NixDefaultPackages"), new("jq", "NixPackage")];

        Assert.Null(LockFile.Mismatch(licensed, x86.Source, wanted));
        Assert.Null(LockFile.Mismatch(x86, x86.Source, wanted));
        Assert.Null(LockFile.Inconsistency(licensed));
    }

    [Fact]
    public void MismatchIsNullForTheSameSourceAndPackages()
    {
        var locked = X86();

        Assert.Null(LockFile.Mismatch(locked, locked.Source, [new("cacert", "NixDefaultPackages"), new("jq", "NixPackage")]));
    }

    [Fact]
    public void MismatchNamesBothSourcesWhenTheSourceDiffers()
    {
        var locked = X86();

        var mismatch = LockFile.Mismatch(locked, "channel https://example.org/other.tar.xz", [new("cacert", "NixDefaultPackages"), new("jq", "NixPackage")]);

        Assert.NotNull(mismatch);
        Assert.Contains(locked.Source, mismatch, StringComparison.Ordinal);
        Assert.Contains("channel https://example.org/other.tar.xz", mismatch, StringComparison.Ordinal);
    }

    [Fact]
    public void MismatchNamesAddedPackages()
    {
        var locked = X86();

        var mismatch = LockFile.Mismatch(locked, locked.Source, [new("cacert", "NixDefaultPackages"), new("curl", "NixPackage"), new("jq", "NixPackage")]);

        Assert.Equal("the project adds curl", mismatch);
    }

    [Fact]
    public void MismatchNamesRemovedPackages()
    {
        var locked = X86();

        var mismatch = LockFile.Mismatch(locked, locked.Source, [new("cacert", "NixDefaultPackages")]);

        Assert.Equal("the project no longer asks for jq", mismatch);
    }

    [Fact]
    public void MismatchNamesAddedAndRemovedPackages()
    {
        var locked = X86();

        var mismatch = LockFile.Mismatch(locked, locked.Source, [new("cacert", "NixDefaultPackages"), new("curl", "NixPackage")]);

        Assert.Equal("the project adds curl; the project no longer asks for jq", mismatch);
    }

    [Fact]
    public void MismatchSaysWhenOnlyTheOrderDiffers()
    {
        var locked = X86();

        var mismatch = LockFile.Mismatch(locked, locked.Source, [new("jq", "NixPackage"), new("cacert", "NixDefaultPackages")]);

        Assert.Equal("the packages are in another order", mismatch);
    }

    public static TheoryData<NixPackageSource, string> Sources(string project) => new()
    {
        { new NixPackageSource.LocalPath(project + "/nixpkgs"), "path nixpkgs" },
        { new NixPackageSource.LocalPath(project + "/nix/default.nix"), "path nix/default.nix" },
        { new NixPackageSource.LocalPath(Path.GetDirectoryName(project) + "/shared/pkgs"), "path ../shared/pkgs" },
        { new NixPackageSource.LocalPath(project), "path ." },
        { new NixPackageSource.Channel("nixos-24.05", "https://github.com/NixOS/nixpkgs/archive/nixos-24.05.tar.gz"), "channel https://github.com/NixOS/nixpkgs/archive/nixos-24.05.tar.gz" },
        { new NixPackageSource.Git("https://github.com/NixOS/nixpkgs", "4f0dadbf38ee4cf4cc38cbc232b7708fddf965bc"), "git https://github.com/NixOS/nixpkgs 4f0dadbf38ee4cf4cc38cbc232b7708fddf965bc" },
        { new NixPackageSource.Git("https://github.com/NixOS/nixpkgs", null), "git https://github.com/NixOS/nixpkgs" },
        { new NixPackageSource.SearchPath(), "NIX_PATH <nixpkgs>" },
    };

    public static TheoryData<NixPackageSource, string> ProjectSources => Sources("/home/me/src/shop");

    [Theory]
    [MemberData(nameof(ProjectSources))]
    public void SourceOfNamesEachKindOfPackageSet(NixPackageSource source, string expected)
    {
        Assert.Equal(expected, LockFile.SourceOf(source, "/home/me/src/shop"));
    }

    [Fact]
    public void SourceOfALocalPathDoesNotDependOnWhereTheCheckoutIs()
    {
        var here = LockFile.SourceOf(new NixPackageSource.LocalPath("/home/me/src/shop/nixpkgs"), "/home/me/src/shop");
        var there = LockFile.SourceOf(new NixPackageSource.LocalPath("/builds/ci/42/shop/nixpkgs"), "/builds/ci/42/shop");

        Assert.Equal(here, there);
    }

    public void Dispose() => _temp.Dispose();
}
