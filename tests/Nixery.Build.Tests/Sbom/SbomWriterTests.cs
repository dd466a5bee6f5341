using System.Text.Json;
using Nixery.Build.Nix;
using Nixery.Build.Sbom;

namespace Nixery.Build.Tests.Sbom;

public sealed class SbomWriterTests
{
    public static TheoryData<string> Formats => ["CycloneDX", "SPDX"];

    private static byte[] Write(string format, ImageContents contents) =>
        format == "CycloneDX" ? CycloneDxWriter.Write(contents) : SpdxWriter.Write(contents);

    [Theory]
    [MemberData(nameof(Formats))]
    public void SameContentsGiveTheSameBytesWhateverTheOrderTheyCameIn(string format)
    {
        var closure = SbomSamples.Closure();
        var reordered = new RuntimeClosure(
            [.. closure.Packages.Reverse()],
            closure.Paths.Reverse().ToDictionary(p => p.Key, p => p.Value with { References = [.. p.Value.References.Reverse()] }));

        var first = Write(format, SbomSamples.Contents());
        Assert.Equal(first, Write(format, SbomSamples.Contents()));
        Assert.Equal(first, Write(format, SbomSamples.Contents(reordered)));
        Assert.NotEqual(first, Write(format, SbomSamples.Contents(digestSeed: "another image")));
    }

    [Fact]
    public void CycloneDxHasOneComponentPerStorePathWithNameVersionPurlHashAndSize()
    {
        var contents = SbomSamples.Contents();
        using var bom = JsonDocument.Parse(CycloneDxWriter.Write(contents));
        var storePaths = bom.RootElement.GetProperty("components").EnumerateArray()
            .Where(c => c.GetProperty("bom-ref").GetString()!.StartsWith("/nix/store/", StringComparison.Ordinal))
            .ToDictionary(c => c.GetProperty("bom-ref").GetString()!);

        Assert.Equal(contents.Closure.Paths.Count, storePaths.Count);
        foreach (var info in contents.Closure.Paths.Values)
        {
            var component = storePaths[info.Path];
            Assert.Equal(info.Path, Property(component, "nix:store_path"));
            Assert.Equal(info.NarSize.ToString(System.Globalization.CultureInfo.InvariantCulture), Property(component, "nix:nar_size"));
            if (info.NarHash is { } hash)
            {
                var sha = Assert.Single(component.GetProperty("hashes").EnumerateArray());
                Assert.Equal("SHA-256", sha.GetProperty("alg").GetString());
                Assert.Equal(hash.Hex, sha.GetProperty("content").GetString());
            }
            else
            {
                Assert.False(component.TryGetProperty("hashes", out _));
            }
        }

        // Name and version from the deriver, else from the store name, without a requested package's output.
        Assert.Equal(("glibc", "2.40-66", "pkg:nix/glibc@2.40-66"), Nvp(storePaths[SbomSamples.StorePath("glibc-2.40-66")]));
        Assert.Equal(("jq", "1.7.1", "pkg:nix/jq@1.7.1"), Nvp(storePaths[SbomSamples.StorePath("jq-1.7.1-bin")]));
        Assert.Equal(("busybox", null, "pkg:nix/busybox"), Nvp(storePaths[SbomSamples.StorePath("busybox")]));
        Assert.Equal(("libstdc++-compat", "1.0+git20240101", "pkg:nix/libstdc%2B%2B-compat@1.0%2Bgit20240101"), Nvp(storePaths[SbomSamples.StorePath("libstdc++-compat-1.0+git20240101")]));

        // Licences only where given.
        Assert.Equal("MIT", storePaths[SbomSamples.StorePath("jq-1.7.1-bin")].GetProperty("licenses")[0].GetProperty("expression").GetString());
        Assert.False(storePaths[SbomSamples.StorePath("glibc-2.40-66")].TryGetProperty("licenses", out _));
    }

    [Fact]
    public void CycloneDxDependenciesAreTheReferencesWithoutSelfReferences()
    {
        var contents = SbomSamples.Contents();
        using var bom = JsonDocument.Parse(CycloneDxWriter.Write(contents));
        var dependencies = bom.RootElement.GetProperty("dependencies").EnumerateArray()
            .ToDictionary(d => d.GetProperty("ref").GetString()!, d => d.GetProperty("dependsOn").EnumerateArray().Select(e => e.GetString()!).ToList());

        foreach (var info in contents.Closure.Paths.Values)
        {
            Assert.Equal(info.References.Where(r => r != info.Path).Order(StringComparer.Ordinal), dependencies[info.Path]);
        }

        var image = bom.RootElement.GetProperty("metadata").GetProperty("component");
        var imageDependencies = dependencies[image.GetProperty("bom-ref").GetString()!];
        Assert.Contains("app:Hello", imageDependencies);
        Assert.Contains(SbomSamples.StorePath("jq-1.7.1-bin"), imageDependencies);
        Assert.Contains(SbomSamples.StorePath("nss-cacert-3.98"), imageDependencies);
        Assert.Equal(["pkg:nuget/No.License@1.0.0", "pkg:nuget/Some.Package@2.0.0-beta.1%2Bbuild", "project:MyLib"], dependencies["app:Hello"]);
        Assert.Equal(["pkg:nuget/Newtonsoft.Json@13.0.3"], dependencies["project:MyLib"]);

        // Every component has its entry, and every ref named in dependsOn is a component.
        var refs = bom.RootElement.GetProperty("components").EnumerateArray().Select(c => c.GetProperty("bom-ref").GetString()!).Append(image.GetProperty("bom-ref").GetString()!).ToHashSet();
        Assert.Equal(refs.Order(StringComparer.Ordinal), dependencies.Keys.Order(StringComparer.Ordinal));
        Assert.All(dependencies.Values.SelectMany(d => d), d => Assert.Contains(d, refs));
    }

    [Fact]
    public void CycloneDxSerialNumberIsANameBasedUuidOfTheDigestAndTheTimestampTheCreatedTime()
    {
        var contents = SbomSamples.Contents();
        using var bom = JsonDocument.Parse(CycloneDxWriter.Write(contents));
        var serial = bom.RootElement.GetProperty("serialNumber").GetString()!;

        Assert.Matches("^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", serial);
        Assert.Equal(CycloneDxWriter.SerialNumber(contents.Image.ManifestDigest), serial);
        Assert.Equal("2023-11-14T22:13:20Z", bom.RootElement.GetProperty("metadata").GetProperty("timestamp").GetString());
    }

    [Fact]
    public void NameBasedUuidIsRfcVersion5()
    {
        // What Python's uuid.uuid5(uuid.NAMESPACE_URL, "https://example.com") gives.
        Assert.Equal(Guid.Parse("4fd35a71-71ef-5a55-a9d9-aa75c889a6d0"), SbomGraph.NameBasedUuid("https://example.com"));
    }

    [Fact]
    public void CycloneDxListsNuGetPackagesProjectsAppAndBaseImage()
    {
        using var bom = JsonDocument.Parse(CycloneDxWriter.Write(SbomSamples.Contents()));
        var components = bom.RootElement.GetProperty("components").EnumerateArray().ToDictionary(c => c.GetProperty("bom-ref").GetString()!);

        var package = components["pkg:nuget/Some.Package@2.0.0-beta.1%2Bbuild"];
        Assert.Equal("Some.Package", package.GetProperty("name").GetString());
        Assert.Equal("SHA-512", package.GetProperty("hashes")[0].GetProperty("alg").GetString());
        Assert.Equal(new string('b', 128), package.GetProperty("hashes")[0].GetProperty("content").GetString());
        Assert.Equal("MIT OR Apache-2.0", package.GetProperty("licenses")[0].GetProperty("expression").GetString());
        Assert.False(components["pkg:nuget/No.License@1.0.0"].TryGetProperty("licenses", out _));
        Assert.Equal("application", components["app:Hello"].GetProperty("type").GetString());
        Assert.Equal("1.2.3", components["project:MyLib"].GetProperty("version").GetString());

        var baseImage = components.Values.Single(c => c.GetProperty("bom-ref").GetString()!.StartsWith("base-image:", StringComparison.Ordinal));
        Assert.Equal("container", baseImage.GetProperty("type").GetString());
        Assert.StartsWith("pkg:oci/runtime-deps@sha256:", baseImage.GetProperty("purl").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("?arch=arm64&repository_url=mcr.microsoft.com%2Fdotnet%2Fruntime-deps&tag=10.0", baseImage.GetProperty("purl").GetString(), StringComparison.Ordinal);

        var image = bom.RootElement.GetProperty("metadata").GetProperty("component");
        Assert.Equal("container", image.GetProperty("type").GetString());
        Assert.Equal("registry.example/team/hello", image.GetProperty("name").GetString());
        Assert.Equal("arm64", Property(image, "nixery:image:architecture"));
        Assert.Equal("v8", Property(image, "nixery:image:variant"));
    }

    [Fact]
    public void SpdxHasThePackagesAndTheirRelationships()
    {
        var contents = SbomSamples.Contents();
        using var document = JsonDocument.Parse(SpdxWriter.Write(contents));
        var root = document.RootElement;
        var packages = root.GetProperty("packages").EnumerateArray().ToList();
        var byFileName = packages.Where(p => p.TryGetProperty("packageFileName", out _)).ToDictionary(p => p.GetProperty("packageFileName").GetString()!);
        var ids = packages.ToDictionary(p => p.GetProperty("SPDXID").GetString()!);
        var relationships = root.GetProperty("relationships").EnumerateArray()
            .Select(r => (r.GetProperty("spdxElementId").GetString()!, r.GetProperty("relationshipType").GetString()!, r.GetProperty("relatedSpdxElement").GetString()!))
            .ToHashSet();

        Assert.Equal("SPDX-2.3", root.GetProperty("spdxVersion").GetString());
        Assert.Equal(SpdxWriter.DocumentNamespace(contents.Image), root.GetProperty("documentNamespace").GetString());
        Assert.Equal("2023-11-14T22:13:20Z", root.GetProperty("creationInfo").GetProperty("created").GetString());
        Assert.Equal(contents.Closure.Paths.Count, byFileName.Count);
        Assert.Equal(contents.Closure.Paths.Count + 7, packages.Count); // and the image, the app, the base image, three NuGet packages, one project
        Assert.Equal(ids.Count, packages.Count);
        Assert.All(ids.Keys, id => Assert.Matches("^SPDXRef-[A-Za-z0-9.-]+$", id));
        Assert.Contains(("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"), relationships);
        Assert.Contains(("SPDXRef-Image", "DESCENDANT_OF", "SPDXRef-BaseImage"), relationships);

        foreach (var info in contents.Closure.Paths.Values)
        {
            var id = byFileName[info.Path].GetProperty("SPDXID").GetString()!;
            Assert.Contains(("SPDXRef-Image", "CONTAINS", id), relationships);
            var dependsOn = relationships.Where(r => r.Item1 == id && r.Item2 == "DEPENDS_ON")
                .Select(r => ids[r.Item3].GetProperty("packageFileName").GetString()!).Order(StringComparer.Ordinal);
            Assert.Equal(info.References.Where(r => r != info.Path).Order(StringComparer.Ordinal), dependsOn);
        }

        var jq = byFileName[SbomSamples.StorePath("jq-1.7.1-bin")];
        Assert.Equal("MIT", jq.GetProperty("licenseDeclared").GetString());
        Assert.Equal("pkg:nix/jq@1.7.1", jq.GetProperty("externalRefs")[0].GetProperty("referenceLocator").GetString());
        Assert.Equal("SHA256", jq.GetProperty("checksums")[0].GetProperty("algorithm").GetString());
        Assert.Equal("NOASSERTION", byFileName[SbomSamples.StorePath("glibc-2.40-66")].GetProperty("licenseDeclared").GetString());
    }

    [Theory]
    [InlineData("1.0+build", "1.0%2Bbuild")]
    [InlineData("a@b", "a%40b")]
    [InlineData("x/y", "x%2Fy")]
    [InlineData("sha256:ab", "sha256:ab")]
    [InlineData("é ~_.-", "%C3%A9%20~_.-")]
    public void PurlEncodingFollowsTheSpec(string text, string encoded)
    {
        Assert.Equal(encoded, Purl.Encode(text));
    }

    [Theory]
    [InlineData("MIT", "MIT")]
    [InlineData(" MIT  OR\n Apache-2.0 ", "MIT OR Apache-2.0")]
    [InlineData("(MIT AND BSD-3-Clause) WITH LLVM-exception", "(MIT AND BSD-3-Clause) WITH LLVM-exception")]
    [InlineData("", null)]
    [InlineData("MIT; rm -rf", null)]
    [InlineData("<script>", null)]
    public void LicenceExpressionsAreKeptOnlyWhenTheyCanBeSpdx(string text, string? kept)
    {
        Assert.Equal(kept, LicenseExpressions.Clean(text));
    }

    private static (string?, string?, string?) Nvp(JsonElement component) => (
        component.GetProperty("name").GetString(),
        component.TryGetProperty("version", out var v) ? v.GetString() : null,
        component.GetProperty("purl").GetString());

    private static string? Property(JsonElement component, string name) =>
        component.GetProperty("properties").EnumerateArray().Where(p => p.GetProperty("name").GetString() == name).Select(p => p.GetProperty("value").GetString()).SingleOrDefault();
}
