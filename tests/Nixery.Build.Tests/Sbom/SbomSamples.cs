using System.Security.Cryptography;
using System.Text;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Sbom;

namespace Nixery.Build.Tests.Sbom;

/// <summary>Image contents shaped like a real image's: a closure with references, a runtime, odd names and versions, NuGet packages, a base image.</summary>
internal static class SbomSamples
{
    public static readonly DateTimeOffset Created = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    public static string StorePath(string name) =>
        "/nix/store/" + NixBase32.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(name)).AsSpan(0, 20).ToArray()) + "-" + name;

    public static StorePathInfo Path(string name, long narSize, string[] references, string? deriver = null) =>
        new(StorePath(name), narSize, [.. references.Select(StorePath)], NarHash.FromBytes(SHA256.HashData(Encoding.UTF8.GetBytes("nar " + name))), deriver);

    public static RuntimeClosure Closure()
    {
        var paths = new[]
        {
            Path("glibc-2.40-66", 30_000_000, ["glibc-2.40-66"], deriver: "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-glibc-2.40-66.drv"),
            Path("gcc-14.2.1.20250322-lib", 9_000_000, ["glibc-2.40-66", "gcc-14.2.1.20250322-lib"]),
            Path("libstdc++-compat-1.0+git20240101", 1000, ["glibc-2.40-66"]),
            Path("icu4c-76.1", 40_000_000, ["glibc-2.40-66", "gcc-14.2.1.20250322-lib"]),
            Path("dotnet-runtime-10.0.12", 70_000_000, ["glibc-2.40-66", "icu4c-76.1", "gcc-14.2.1.20250322-lib"]),
            Path("busybox", 2_000_000, ["glibc-2.40-66"]),
            Path("jq-1.7.1-bin", 400_000, ["glibc-2.40-66"]),
            new StorePathInfo(StorePath("nss-cacert-3.98"), 500_000, [], NarHash: null),
        }.ToDictionary(p => p.Path, StringComparer.Ordinal);
        var packages = new ResolvedPackage[]
        {
            new("dotnet-runtime", "dotnet-runtime", StorePath("dotnet-runtime-10.0.12"), "NixDotnetRuntimePackage"),
            new("busybox", "busybox", StorePath("busybox"), "NixDefaultPackages"),
            new("jq", "jq", StorePath("jq-1.7.1-bin"), "NixPackage", "bin"),
            new("cacert", "cacert", StorePath("nss-cacert-3.98"), "NixDefaultPackages"),
        };
        return new RuntimeClosure(packages, paths);
    }

    public static AppPackages NuGet() => new(
        [
            new NuGetPackage("Newtonsoft.Json", "13.0.3", new string('a', 128), "MIT", []),
            new NuGetPackage("Some.Package", "2.0.0-beta.1+build", new string('b', 128), "MIT OR Apache-2.0", ["Newtonsoft.Json"]),
            new NuGetPackage("No.License", "1.0.0", null, null, []),
        ],
        [new ProjectReference("MyLib", "1.2.3", ["Newtonsoft.Json"])],
        ["MyLib", "Some.Package", "No.License"]);

    public static ImageContents Contents(RuntimeClosure? closure = null, string digestSeed = "image") => new(
        new SbomImage("registry.example/team/hello", Digest.Of(Encoding.UTF8.GetBytes(digestSeed)), Platform.FromNixSystem("aarch64-linux"), Created),
        closure ?? Closure(),
        new SbomApp("Hello", "1.0.0"),
        NuGet(),
        new SbomBaseImage("mcr.microsoft.com/dotnet/runtime-deps:10.0", Digest.Of("base"u8)),
        new Dictionary<string, string> { [StorePath("jq-1.7.1-bin")] = "MIT", [StorePath("busybox")] = "GPL-2.0-only" });
}
