using System.Text.Json;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Settings;

namespace Nixery.Build.Tests.Pipeline;

/// <summary>
/// SBOMs through the pipeline: documents beside the summary, attached as OCI 1.1 referrers in the layout and the
/// registry (by the tag schema, or left to a registry's referrers API), the image's digest unchanged, and an
/// up-to-date build that still has them and sends nothing.
/// </summary>
public sealed partial class ImagePipelineTests
{
    private const string Both = "CycloneDX;SPDX";

    [Fact]
    public async Task SbomsGoBesideTheSummaryAndToTheRegistryByTheTagSchemaWithoutChangingTheImage()
    {
        var plain = await Run(Request());
        var result = await Run(Request(Both), withRegistry: true);

        Assert.Equal(plain.Digest, result.Digest);
        Assert.Equal(["CycloneDX", "SPDX"], result.Sboms.Select(f => f.Format).Order(StringComparer.Ordinal));
        var cdx = result.Sboms.Single(f => f.Format == "CycloneDX");
        var spdx = result.Sboms.Single(f => f.Format == "SPDX");
        Assert.Equal(Path.Combine(_root, "out", "app.cdx.json"), cdx.Path);
        Assert.Equal(Path.Combine(_root, "out", "app.spdx.json"), spdx.Path);
        Assert.All(result.Sboms, f => Assert.Equal(result.Digest, f.Subject));
        Assert.All(result.Sboms, f => Assert.Equal("linux/amd64", f.Platform));

        using (var document = JsonDocument.Parse(File.ReadAllBytes(cdx.Path)))
        {
            var bom = document.RootElement;
            Assert.Equal("CycloneDX", bom.GetProperty("bomFormat").GetString());
            Assert.Equal("1.6", bom.GetProperty("specVersion").GetString());
            Assert.Contains(bom.GetProperty("components").EnumerateArray(), c => c.GetProperty("purl").GetString() == "pkg:nix/tool@1.0");
            Assert.Contains(result.Digest.Hex, bom.GetProperty("metadata").GetRawText(), StringComparison.Ordinal);
        }

        using (var document = JsonDocument.Parse(File.ReadAllBytes(spdx.Path)))
        {
            Assert.Equal("SPDX-2.3", document.RootElement.GetProperty("spdxVersion").GetString());
        }

        // The summary names them.
        using (var summary = JsonDocument.Parse(File.ReadAllBytes(result.SummaryPath)))
        {
            var listed = summary.RootElement.GetProperty("sboms").EnumerateArray().ToList();
            Assert.Equal([cdx.Path, spdx.Path], listed.Select(e => e.GetProperty("file").GetString()));
            Assert.Equal([cdx.Referrer.Value, spdx.Referrer.Value], listed.Select(e => e.GetProperty("referrer").GetString()));
        }

        // Distribution 2.8's way: the index at tag sha256-<hex> lists both artifact manifests, each with the image
        // as its subject and the very file as its one layer.
        var index = _registry.ManifestJson("demo/app", "sha256-" + result.Digest.Hex);
        Assert.NotNull(index);
        var entries = index.Value.GetProperty("manifests").EnumerateArray().ToList();
        Assert.Equal(2, entries.Count);
        foreach (var file in result.Sboms)
        {
            var entry = Assert.Single(entries, e => e.GetProperty("digest").GetString() == file.Referrer.Value);
            Assert.Equal(file.MediaType, entry.GetProperty("artifactType").GetString());
            var manifest = _registry.ManifestJson("demo/app", file.Referrer.Value)!.Value;
            Assert.Equal(file.MediaType, manifest.GetProperty("artifactType").GetString());
            Assert.Equal(MediaTypes.OciEmpty, manifest.GetProperty("config").GetProperty("mediaType").GetString());
            Assert.Equal(result.Digest.Value, manifest.GetProperty("subject").GetProperty("digest").GetString());
            var layer = Assert.Single(manifest.GetProperty("layers").EnumerateArray().ToList());
            Assert.Equal(File.ReadAllBytes(file.Path), _registry.BlobBytes(layer.GetProperty("digest").GetString()!));
        }

        // Up to date: a deleted document comes back from the cache, and the registry is only asked (no write).
        File.Delete(cdx.Path);
        _registry.ClearLog();
        var again = await Run(Request(Both), withRegistry: true);
        Assert.True(again.UpToDate);
        Assert.Equal(result.Sboms, again.Sboms);
        Assert.True(File.Exists(cdx.Path));
        Assert.DoesNotContain(_registry.Log, e => e.Method is "PUT" or "POST" or "PATCH");
        Assert.Contains(_registry.Log, e => e.Method == "GET" && e.Path.EndsWith("/manifests/sha256-" + result.Digest.Hex, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARegistryWithTheReferrersApiListsThemItselfAndNoTagIsMade()
    {
        using var registry = new InMemoryRegistry { ReferrersApi = true };
        var result = await Run(Request("CycloneDX"), withRegistry: true, registry: registry);

        var sbom = Assert.Single(result.Sboms);
        Assert.Null(registry.ManifestJson("demo/app", "sha256-" + result.Digest.Hex));
        Assert.Contains(registry.Log, e => e.Method == "PUT" && e.Path.EndsWith("/manifests/" + sbom.Referrer.Value, StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.Contains("the registry's referrers API", StringComparison.Ordinal));

        registry.ClearLog();
        var again = await Run(Request("CycloneDX"), withRegistry: true, registry: registry);
        Assert.True(again.UpToDate);
        Assert.DoesNotContain(registry.Log, e => e.Method is "PUT" or "POST" or "PATCH");
        Assert.Contains(registry.Log, e => e.Method == "GET" && e.Path.EndsWith("/referrers/" + result.Digest.Value, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARegistryThatRefusesArtifactsGetsTheImageAndAWarning()
    {
        using var registry = new InMemoryRegistry { RefusesArtifacts = true };
        var result = await Run(Request(Both), withRegistry: true, registry: registry);

        Assert.Equal(result.Digest.Value, registry.TagDigest("demo/app", "latest"));
        var warning = Assert.Single(_log.Warnings);
        Assert.Equal(ErrorCodes.ReferrersRefused, warning.Code);
        Assert.Contains("NixImageSbom=none", warning.Message, StringComparison.Ordinal);
        Assert.All(result.Sboms, f => Assert.True(File.Exists(f.Path)));
    }

    [Fact]
    public async Task TheReferrersTagKeepsWhatOthersAttachedToTheImage()
    {
        var plain = await Run(Request(), withRegistry: true);
        var tag = "sha256-" + plain.Digest.Hex;
        // Another tool's signature, attached the same way before this build (its manifest is in the repository).
        var signature = System.Text.Encoding.UTF8.GetBytes("""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.cosign.artifact.sig.v1+json","subject":{"digest":""" + "\"" + plain.Digest.Value + "\"}}");
        var signatureDigest = Digest.Of(signature);
        _registry.PutManifest("demo/app", signatureDigest.Value, MediaTypes.OciManifest, signature);
        var tagged = System.Text.Encoding.UTF8.GetBytes(
            """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.cosign.artifact.sig.v1+json","digest":"""
            + "\"" + signatureDigest.Value + "\",\"size\":" + signature.Length + "}]}");
        _registry.PutManifest("demo/app", tag, MediaTypes.OciIndex, tagged);

        var result = await Run(Request(Both), withRegistry: true);

        var listed = _registry.ManifestJson("demo/app", tag)!.Value.GetProperty("manifests").EnumerateArray().Select(e => e.GetProperty("artifactType").GetString()).ToList();
        Assert.Equal(["application/vnd.dev.cosign.artifact.sig.v1+json", MediaTypes.CycloneDxJson, MediaTypes.SpdxJson], listed);
        Assert.Equal(plain.Digest, result.Digest);
    }

    [Fact]
    public async Task TheLayoutListsTheReferrersAndDropsThoseOfAnImageItNoLongerNames()
    {
        var layout = Path.Combine(_root, "layout");
        var first = await Run(Request(Both) with { OciLayoutPath = layout });
        File.WriteAllText(Path.Combine(Publish, "App.dll"), "app version 2");
        var second = await Run(Request(Both) with { OciLayoutPath = layout });
        Assert.NotEqual(first.Digest, second.Digest);

        using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(layout, "index.json")));
        var entries = index.RootElement.GetProperty("manifests").EnumerateArray().ToList();
        var named = entries.Where(e => e.TryGetProperty("annotations", out var a) && a.TryGetProperty("org.opencontainers.image.ref.name", out _)).ToList();
        var referrers = entries.Except(named).ToList();
        Assert.All(named, e => Assert.Equal(second.Digest.Value, e.GetProperty("digest").GetString()));
        Assert.Equal(second.Sboms.Select(f => f.Referrer.Value).Order(StringComparer.Ordinal), referrers.Select(e => e.GetProperty("digest").GetString()!).Order(StringComparer.Ordinal));
        foreach (var entry in referrers)
        {
            var manifest = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(layout, "blobs", "sha256", entry.GetProperty("digest").GetString()!["sha256:".Length..]))).RootElement;
            Assert.Equal(second.Digest.Value, manifest.GetProperty("subject").GetProperty("digest").GetString());
            Assert.Equal(entry.GetProperty("artifactType").GetString(), manifest.GetProperty("artifactType").GetString());
        }
    }

    [Fact]
    public async Task TurningSbomsOffRemovesTheirFilesAndKeepsTheImage()
    {
        var with = await Run(Request("SPDX"));
        var file = Assert.Single(with.Sboms).Path;
        Assert.True(File.Exists(file));

        var without = await Run(Request());
        Assert.Empty(without.Sboms);
        Assert.False(File.Exists(file));
        Assert.Equal(with.Digest, without.Digest);
    }

    [Fact]
    public async Task AnUpToDateImageWhoseSbomsLeftTheCacheIsMadeAgainWithThem()
    {
        var first = await Run(Request(Both));
        Directory.Delete(Path.Combine(_root, "cache", "referrers"), recursive: true);

        var again = await Run(Request(Both));

        Assert.False(again.UpToDate);
        Assert.Equal(first.Digest, again.Digest);
        Assert.Equal(first.Sboms, again.Sboms);
        Assert.Contains(_log.Lines, l => l.Contains("no longer holds the last image or its SBOMs", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null, new[] { MediaTypes.CycloneDxJson, MediaTypes.SpdxJson })]
    [InlineData("", new[] { MediaTypes.CycloneDxJson, MediaTypes.SpdxJson })]
    [InlineData("spdx; CYCLONEDX", new[] { MediaTypes.CycloneDxJson, MediaTypes.SpdxJson })]
    [InlineData("SPDX", new[] { MediaTypes.SpdxJson })]
    [InlineData("cyclonedx;CycloneDX", new[] { MediaTypes.CycloneDxJson })]
    [InlineData("None", new string[0])]
    public void NixImageSbomTakesTheFormatsInAnyCaseAndOrderOrNone(string? value, string[] expected) =>
        Assert.Equal(expected, ImageRequestFactory.SbomMediaTypes(value));

    [Theory]
    [InlineData("swid")]
    [InlineData("CycloneDX;none")]
    [InlineData("CycloneDX-XML")]
    public void NixImageSbomRefusesAnythingElseWithACode(string value)
    {
        var error = Assert.Throws<NixImageException>(() => ImageRequestFactory.SbomMediaTypes(value));
        Assert.Equal(ErrorCodes.InvalidSbomSetting, error.Code);
        Assert.Contains(value, error.Message, StringComparison.Ordinal);
    }
}
