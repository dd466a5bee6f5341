using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Pipeline;
using Nixery.Build.Settings;
using Nixery.Build.Sources;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// The requested packages' <c>meta.license</c>, as real Nix evaluates it (resolve.nix): an SPDX expression where the
/// package set gives licences with SPDX identifiers, none where it gives anything else, and the same from the lock
/// file and the closure cache as from Nix.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class PackageLicenseTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>The sample set's packages with each kind of licence it has, and one without meta.</summary>
    private static readonly PackageRequest[] SamplePackages =
    [
        new("jq", "NixPackage"),
        new("busybox", "NixPackage"),
        new("tzdata", "NixDefaultPackages"),
        new("dotnetCorePackages.runtime_10_0", "NixDotnetRuntimePackage"),
        new("openssl", PackageRequest.AppHostOrigin),
        new("sqlite", PackageRequest.AppHostOrigin),
        new("krb5", PackageRequest.AppHostOrigin),
        new("widedag", "NixPackage"),
    ];

    private static NixClient Client() => NixClient.Locate(Environment.GetEnvironmentVariable("PATH"), NullBuildLog.Instance);

    private static Dictionary<string, string?> Licences(IEnumerable<ResolvedPackage> packages) =>
        packages.ToDictionary(p => p.Name, p => p.License, StringComparer.Ordinal);

    [Fact]
    public async Task TheSampleSetsLicencesComeThroughAsSpdxExpressionsAndNoneIsGuessed()
    {
        Prerequisites.Require();
        using var environment = new NixEnvironment();

        var closure = await Client().GetRuntimeClosureAsync(
            new NixPackageSource.LocalPath(SampleProject.PackageSet), "x86_64-linux", SamplePackages, _temp.Combine("gcroots"), CancellationToken.None);

        Assert.Equal(
            new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["jq"] = "MIT",                                     // licenses.mit
                ["busybox"] = "GPL-2.0-only",                        // licenses.gpl2Only
                ["tzdata"] = null,                                   // [ bsd3 publicDomain ]: publicDomain has no spdxId
                ["dotnetCorePackages.runtime_10_0"] = "MIT",         // the wrapper's meta is the unwrapped runtime's
                ["openssl"] = "Apache-2.0",                          // its lib output, with the attribute's licence
                ["sqlite"] = null,                                   // licenses.publicDomain
                ["krb5"] = null,                                     // no meta.license
                ["widedag"] = null,                                  // no meta at all
            },
            Licences(closure.Packages));
        Assert.Equal("openssl-3.0.19", RuntimeClosure.NameOf(closure.Packages.Single(p => p.Name == "openssl").StorePath));
    }

    [Fact]
    public async Task ListsAreJoinedWithAndAndAnythingWithoutAnSpdxIdentifierOrThatFailsGivesNone()
    {
        Prerequisites.Require();
        using var environment = new NixEnvironment();
        // The sample set's zlib under nixpkgs-shaped licences the sample set itself has no use for; meta is not part of
        // the derivation, so every one of them is the same store path.
        var set = _temp.CreateDirectory("licence-set");
        File.WriteAllText(Path.Combine(set, "default.nix"), $$"""
            { system ? builtins.currentSystem, ... }@args:
            let
              base = import {{SampleProject.PackageSet}} args;
              l = (import {{SampleProject.PackageSet}}/lib.nix { inherit system; }).licenses;
              licensed = license: base.zlib // { meta = { inherit license; }; };
              unfree = { shortName = "unfree"; fullName = "Unfree"; free = false; };
              free = { shortName = "free"; fullName = "Unspecified free software license"; };
              llvm-exception = { shortName = "llvm-exception"; fullName = "LLVM Exception"; spdxId = "LLVM-exception"; };
            in base // {
              single = licensed l.zlib;
              list = licensed [ l.bsd3 l.mit l.bsd3 ];
              listWithFree = licensed [ l.mit free ];
              listWithPublicDomain = licensed [ l.bsd3 l.publicDomain ];
              emptyList = licensed [ ];
              unfree = licensed unfree;
              free = licensed free;
              text = licensed "MIT";
              number = licensed 7;
              spdxIdNotText = licensed { spdxId = 1; };
              withException = licensed { spdxId = "Apache-2.0 WITH LLVM-exception"; fullName = "Apache 2.0 with LLVM exception"; };
              exceptionInAList = licensed [ l.asl20 llvm-exception ];
              compound = licensed { spdxId = "MIT OR Apache-2.0"; };
              oldPlus = licensed { spdxId = "GPL-2.0+"; };
              licenceThrows = licensed (throw "no licence here");
              elementThrows = licensed [ l.mit (throw "no licence here") ];
              spdxIdThrows = licensed { spdxId = throw "no licence here"; };
              assertFails = licensed (assert false; l.mit);
              metaThrows = base.zlib // { meta = throw "broken meta"; };
              metaIsText = base.zlib // { meta = "text"; };
            }
            """);
        string[] names =
        [
            "single", "list", "listWithFree", "listWithPublicDomain", "emptyList", "unfree", "free", "text", "number", "spdxIdNotText",
            "withException", "exceptionInAList", "compound", "oldPlus", "licenceThrows", "elementThrows", "spdxIdThrows", "assertFails",
            "metaThrows", "metaIsText",
        ];

        var resolved = await Client().ResolveAsync(
            new NixPackageSource.LocalPath(set), "x86_64-linux", names.Select(n => new PackageRequest(n, "NixPackage")).ToList(), CancellationToken.None);

        Assert.Equal(
            new Dictionary<string, string?>(StringComparer.Ordinal)
            {
                ["single"] = "Zlib",
                ["list"] = "BSD-3-Clause AND MIT",   // nixpkgs: parts of the package are licensed differently; once each
                ["listWithFree"] = null,
                ["listWithPublicDomain"] = null,
                ["emptyList"] = null,
                ["unfree"] = null,
                ["free"] = null,
                ["text"] = null,                     // legacy free text, even when it reads like an identifier
                ["number"] = null,
                ["spdxIdNotText"] = null,
                ["withException"] = "Apache-2.0 WITH LLVM-exception",
                ["exceptionInAList"] = null,         // an exception belongs after WITH, which a list cannot say
                ["compound"] = null,                 // not parsed: kept out rather than joined into another expression
                ["oldPlus"] = "GPL-2.0+",
                ["licenceThrows"] = null,
                ["elementThrows"] = null,
                ["spdxIdThrows"] = null,
                ["assertFails"] = null,
                ["metaThrows"] = null,
                ["metaIsText"] = null,
            },
            Licences(resolved.Select(r => r.Package)));
        Assert.Single(resolved.Select(r => r.Package.StorePath).Distinct());
    }

    [Fact]
    public async Task ABuildFromTheLockFileOrTheClosureCacheHasTheSamePackagesAndLicencesAsTheBuildWithNix()
    {
        Prerequisites.Require();
        using var environment = new NixEnvironment();
        var source = new NixPackageSource.LocalPath(SampleProject.PackageSet);
        var withNix = await Client().GetRuntimeClosureAsync(source, "x86_64-linux", SamplePackages, _temp.Combine("gcroots"), CancellationToken.None);
        Assert.Contains(withNix.Packages, p => p.License is not null);
        Assert.Contains(withNix.Packages, p => p.License is null);

        // The build with Nix writes the lock; the build without Nix reads it back through LockClosureSource.
        var request = LockRequests.Create(_temp, "shop/api", _temp.Combine(LockFile.FileName), source, SamplePackages) with { NixMode = NixMode.Nix };
        ImageFreshness.WriteLock(request, withNix, new RecordingLog());
        var fromLock = LockClosureSource.Locked(request with { NixMode = NixMode.Lock });

        Assert.Equal(withNix.Packages, fromLock.Packages);
        Assert.Equal(withNix.Paths.Keys, fromLock.Paths.Keys);
        Assert.Contains("\"license\": \"GPL-2.0-only\"", File.ReadAllText(request.LockFile), StringComparison.Ordinal);

        var cache = new ClosureCache(_temp.Combine("obj", "closure.json"));
        cache.Save("key", withNix);
        Assert.Equal(withNix.Packages, cache.TryLoad("key")!.Packages);
    }
}
