using System.Text.Json;
using System.Text.Json.Nodes;
using Nixery.Build.Sbom;
using Nixery.Build.Tests.Sbom;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// The SBOM documents checked by tools nobody here wrote: the CycloneDX project's own validator (npm
/// <c>@cyclonedx/cyclonedx-library</c>, strict JSON validation for 1.6), and the NuGet part against what the
/// <c>CycloneDX</c> dotnet tool reports for the same restored project. The SPDX document's purls and licences are
/// parsed by the package-url project's packageurl-js and spdx-expression-parse; the official SPDX 2.3 JSON schema
/// itself is not served by any registry these tests can reach (npm, Debian 12, NuGet), so a schema check of the SPDX
/// document is not part of this suite.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class SbomValidationTests : IDisposable
{
    private readonly PackageFeed _feed;
    private readonly TempDirectory _temp = new("nixery-sbom");

    public SbomValidationTests(PackageFeed feed) => _feed = feed;

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void CycloneDxValidatesWithTheCycloneDxLibrary()
    {
        var bom = _temp.Combine("image.cdx.json");
        File.WriteAllBytes(bom, CycloneDxWriter.Write(SbomSamples.Contents()));

        var (exitCode, output) = SbomValidators.ValidateCycloneDx(bom);
        Assert.True(exitCode == 0, $"The CycloneDX library rejects the document:\n{output}");
        Assert.Contains("valid", output, StringComparison.Ordinal);
    }

    /// <summary>The validator is no rubber stamp: the same document with a field 1.6 does not have, or a bad hash, fails.</summary>
    [Theory]
    [InlineData("unknown-field")]
    [InlineData("bad-hash")]
    public void TheCycloneDxValidatorRejectsABrokenDocument(string breakage)
    {
        var document = JsonNode.Parse(CycloneDxWriter.Write(SbomSamples.Contents()))!;
        var component = document["components"]!.AsArray().First(c => c!["hashes"] is not null)!;
        if (breakage == "unknown-field")
        {
            component["narHash"] = "not in the schema";
        }
        else
        {
            component["hashes"]![0]!["content"] = "xyz";
        }

        var bom = _temp.Combine("broken.cdx.json");
        File.WriteAllText(bom, document.ToJsonString());
        var (exitCode, output) = SbomValidators.ValidateCycloneDx(bom);
        Assert.True(exitCode == 1, $"Expected the validator to reject the document (exit 1), got {exitCode}:\n{output}");
    }

    [Fact]
    public void TheNuGetPartIsWhatTheCycloneDxDotnetToolReports()
    {
        using var project = RestoredProject();
        var assetsFile = Path.Combine(project.Directory, "obj", "project.assets.json");
        var ours = AppPackages.Read(assetsFile, "net10.0", "linux-x64");

        // The tool, on the same restored project, for the same framework and RID, without restoring again.
        var output = _temp.CreateDirectory("cyclonedx-dotnet");
        Command.Run(
            SbomValidators.CycloneDxTool(),
            [project.ProjectFile, "--output", output, "--output-format", "Json", "--spec-version", "1.6", "--framework", "net10.0", "--runtime", "linux-x64", "--disable-package-restore"],
            project.Directory,
            new Dictionary<string, string?> { ["NUGET_PACKAGES"] = _feed.NuGetPackages, ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" }).EnsureSuccess();
        using var toolBom = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(output, "bom.json")));
        var toolPackages = toolBom.RootElement.GetProperty("components").EnumerateArray()
            .Where(c => c.TryGetProperty("purl", out var purl) && purl.GetString()!.StartsWith("pkg:nuget/", StringComparison.Ordinal))
            .ToList();

        // What the tool lists beyond ours, stated exactly: the tool lists every package of the target, also those
        // `dotnet publish` leaves out because the project references them with PrivateAssets="all" (here SharpZipLib
        // and Nixery.Build) and those with no files for the app (here the analyzer package, which the tool marks
        // scope "excluded").
        var privateAssets = new[] { "Nixery.Build", "SharpZipLib" };
        var expected = toolPackages
            .Where(c => !(c.TryGetProperty("scope", out var scope) && scope.GetString() == "excluded"))
            .Where(c => !privateAssets.Contains(c.GetProperty("name").GetString()))
            .ToDictionary(c => c.GetProperty("purl").GetString()!, c => c, StringComparer.Ordinal);
        var ourPurls = ours.Packages.ToDictionary(p => Purl.NuGet(p.Id, p.Version), StringComparer.Ordinal);

        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), ourPurls.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["Newtonsoft.Json", "System.IO.Hashing"], ours.Packages.Select(p => p.Id));
        foreach (var (purl, package) in ourPurls)
        {
            var hash = expected[purl].GetProperty("hashes").EnumerateArray().Single(h => h.GetProperty("alg").GetString() == "SHA-512");
            Assert.Equal(hash.GetProperty("content").GetString()!.ToLowerInvariant(), package.Sha512);
            var licence = expected[purl].GetProperty("licenses")[0];
            var toolLicence = licence.TryGetProperty("expression", out var e) ? e.GetString() : licence.GetProperty("license").GetProperty("id").GetString();
            Assert.Equal(toolLicence, package.License);
        }

        // The tool saw the packages we leave out: the comparison above is not vacuous.
        Assert.Contains(toolPackages, c => c.GetProperty("name").GetString() == "SharpZipLib");
        Assert.Contains(toolPackages, c => c.GetProperty("name").GetString() == "xunit.analyzers");
        Assert.Equal(["Lib"], ours.Projects.Select(p => p.Name));
    }

    [Fact]
    public void TheDocumentsOfARealRestoreValidate()
    {
        using var project = RestoredProject();
        var packages = AppPackages.Read(Path.Combine(project.Directory, "obj", "project.assets.json"), "net10.0", "linux-x64");
        var contents = SbomSamples.Contents() with { AppPackages = packages };

        var bom = _temp.Combine("real.cdx.json");
        File.WriteAllBytes(bom, CycloneDxWriter.Write(contents));
        var (exitCode, output) = SbomValidators.ValidateCycloneDx(bom);
        Assert.True(exitCode == 0, $"The CycloneDX library rejects the document:\n{output}");
    }

    /// <summary>
    /// Every purl parses with the package-url project's own library to the name and version the document gives the
    /// component, and every licence expression parses as SPDX; in both formats.
    /// </summary>
    [Theory]
    [InlineData("CycloneDX")]
    [InlineData("SPDX")]
    public void EveryPurlAndLicenceParsesWithIndependentParsers(string format)
    {
        var contents = SbomSamples.Contents();
        var file = _temp.Combine("document." + format + ".json");
        File.WriteAllBytes(file, format == "SPDX" ? SpdxWriter.Write(contents) : CycloneDxWriter.Write(contents));
        using var document = JsonDocument.Parse(File.ReadAllBytes(file));
        var named = format == "SPDX"
            ? document.RootElement.GetProperty("packages").EnumerateArray()
                .Where(p => p.TryGetProperty("externalRefs", out _))
                .ToDictionary(p => p.GetProperty("externalRefs")[0].GetProperty("referenceLocator").GetString()!, p => (Name: p.GetProperty("name").GetString(), Version: p.TryGetProperty("versionInfo", out var v) ? v.GetString() : null))
            : document.RootElement.GetProperty("components").EnumerateArray().Append(document.RootElement.GetProperty("metadata").GetProperty("component"))
                .Where(c => c.TryGetProperty("purl", out _))
                .ToDictionary(c => c.GetProperty("purl").GetString()!, c => (Name: c.GetProperty("name").GetString(), Version: c.TryGetProperty("version", out var v) ? v.GetString() : null));

        using var parsed = SbomValidators.ParsePurlsAndLicences(file);
        var purls = parsed.RootElement.GetProperty("purls").EnumerateArray().ToList();
        Assert.Equal(named.Count, purls.Count);
        foreach (var purl in purls)
        {
            var text = purl.GetProperty("purl").GetString()!;
            Assert.True(purl.GetProperty("error").ValueKind == JsonValueKind.Null, $"{text}: {purl.GetProperty("error")}");
            var type = purl.GetProperty("type").GetString();
            if (type is "nix" or "nuget")
            {
                // Store paths and packages: the purl says the component's name and version.
                Assert.Equal(named[text].Name, purl.GetProperty("name").GetString());
                Assert.Equal(named[text].Version, purl.GetProperty("version").GetString());
            }
            else
            {
                // Images: named by their last path segment, versioned by the manifest digest.
                Assert.Equal("oci", type);
                Assert.Equal(named[text].Name!.Split('/')[^1], purl.GetProperty("name").GetString());
                Assert.Equal(named[text].Version, purl.GetProperty("version").GetString());
            }
        }

        var licences = parsed.RootElement.GetProperty("licences").EnumerateArray().ToList();
        Assert.NotEmpty(licences);
        Assert.All(licences, l => Assert.True(l.GetProperty("error").ValueKind == JsonValueKind.Null, $"{l.GetProperty("expression")}: {l.GetProperty("error")}"));
        Assert.Contains(purls, p => p.GetProperty("name").GetString() == "libstdc++-compat" && p.GetProperty("version").GetString() == "1.0+git20240101");
    }

    /// <summary>
    /// The whole promise through <c>dotnet publish</c>, against the real registry and tools: the image pushed with
    /// its SBOMs attached as referrers by the tag schema (distribution 2.8 has no referrers API), read back with
    /// skopeo; the layout listing them beside the tag umoci sees; the files beside the summary valid for the
    /// CycloneDX library and the purl and licence parsers, with the app's NuGet packages and the requested packages'
    /// licences; and a second, unchanged publish that sends the registry nothing.
    /// </summary>
    [Fact]
    public async Task APublishAttachesValidDocumentsInTheRegistryAndTheLayoutAndAnUnchangedOneSendsNothing()
    {
        using var registry = new Registry.TestRegistry();
        using var project = RestoredProject();
        var layout = Path.Combine(project.Directory, "layout");
        var publish = Registry.RegistryPush.Publish(project, registry.Name, "sbom/app", [$"-p:NixImageOciLayoutPath={layout}", "-p:Version=2.5.0", "-getItem:NixImageSbomFile"]);
        Assert.True(publish.ExitCode == 0, publish.Output);
        using var outputs = JsonDocument.Parse(publish.Output[publish.Output.IndexOf('{', StringComparison.Ordinal)..]);
        var items = outputs.RootElement.GetProperty("Items").GetProperty("NixImageSbomFile").EnumerateArray().ToList();
        var summaryPath = project.DefaultArchive("linux-x64").Replace("hellonix.tar", "sbom-app.json", StringComparison.Ordinal);
        using var summary = JsonDocument.Parse(File.ReadAllBytes(summaryPath));
        var digest = summary.RootElement.GetProperty("manifestDigest").GetString()!;
        var cdx = Path.ChangeExtension(summaryPath, ".cdx.json");
        var spdx = Path.ChangeExtension(summaryPath, ".spdx.json");
        // The build hands them to later targets as items, with what each is.
        Assert.Equal([cdx, spdx], items.Select(i => i.GetProperty("FullPath").GetString()));
        Assert.Equal(["CycloneDX", "SPDX"], items.Select(i => i.GetProperty("Format").GetString()));
        Assert.All(items, i => Assert.Equal(digest, i.GetProperty("Subject").GetString()));
        Assert.All(items, i => Assert.Equal("linux/amd64", i.GetProperty("Platform").GetString()));

        // Valid for the CycloneDX project's validator; every purl and licence parses in both documents.
        var (exitCode, output) = SbomValidators.ValidateCycloneDx(cdx);
        Assert.True(exitCode == 0, $"The CycloneDX library rejects the published document:\n{output}");
        foreach (var file in new[] { cdx, spdx })
        {
            using var parsed = SbomValidators.ParsePurlsAndLicences(file);
            Assert.All(parsed.RootElement.GetProperty("purls").EnumerateArray(), p => Assert.True(p.GetProperty("error").ValueKind == JsonValueKind.Null, p.ToString()));
            Assert.All(parsed.RootElement.GetProperty("licences").EnumerateArray(), l => Assert.True(l.GetProperty("error").ValueKind == JsonValueKind.Null, l.ToString()));
        }

        // What it lists: the image, the store paths with their NAR hashes and the licence nixpkgs' meta gives jq,
        // the app and its version, the NuGet package it ships (not the PrivateAssets one), the project it references.
        using (var bom = JsonDocument.Parse(File.ReadAllBytes(cdx)))
        {
            var components = bom.RootElement.GetProperty("components").EnumerateArray().ToList();
            string Purl(JsonElement c) => c.TryGetProperty("purl", out var p) ? p.GetString()! : string.Empty;
            var jq = Assert.Single(components, c => Purl(c).StartsWith("pkg:nix/jq@", StringComparison.Ordinal));
            Assert.Equal("MIT", jq.GetProperty("licenses")[0].GetProperty("expression").GetString());
            Assert.Equal("SHA-256", jq.GetProperty("hashes")[0].GetProperty("alg").GetString());
            Assert.Contains(components, c => Purl(c) == "pkg:nuget/Newtonsoft.Json@13.0.3");
            Assert.DoesNotContain(components, c => c.GetProperty("name").GetString() == "SharpZipLib");
            Assert.Contains(components, c => c.GetProperty("name").GetString() == "Lib");
            Assert.Contains(components, c => c.GetProperty("name").GetString() == "HelloNix" && c.GetProperty("version").GetString() == "2.5.0");
            Assert.Contains(digest["sha256:".Length..], bom.RootElement.GetProperty("metadata").GetRawText(), StringComparison.Ordinal);
        }

        // The registry: the referrers tag lists both artifact manifests (read with skopeo); each names the image as
        // its subject and carries the very file.
        var tag = "sha256-" + digest["sha256:".Length..];
        var index = Command.Run("skopeo", ["inspect", "--raw", "--tls-verify=false", $"docker://{registry.Name}/sbom/app:{tag}"]);
        Assert.True(index.ExitCode == 0, index.Output);
        using var listed = JsonDocument.Parse(index.StandardOutput);
        var referrers = listed.RootElement.GetProperty("manifests").EnumerateArray().ToList();
        Assert.Equal(["application/spdx+json", "application/vnd.cyclonedx+json"], referrers.Select(r => r.GetProperty("artifactType").GetString()).Order(StringComparer.Ordinal));
        using var http = new HttpClient();
        foreach (var referrer in referrers)
        {
            var raw = Command.Run("skopeo", ["inspect", "--raw", "--tls-verify=false", $"docker://{registry.Name}/sbom/app@{referrer.GetProperty("digest").GetString()}"]);
            Assert.True(raw.ExitCode == 0, raw.Output);
            using var manifest = JsonDocument.Parse(raw.StandardOutput);
            Assert.Equal(digest, manifest.RootElement.GetProperty("subject").GetProperty("digest").GetString());
            var layer = manifest.RootElement.GetProperty("layers")[0];
            var bytes = await http.GetByteArrayAsync($"http://{registry.Name}/v2/sbom/app/blobs/{layer.GetProperty("digest").GetString()}");
            Assert.Equal(File.ReadAllBytes(layer.GetProperty("mediaType").GetString() == "application/spdx+json" ? spdx : cdx), bytes);
        }

        // The layout: the referrers listed without a tag; umoci sees the tag only, and the image runs from it.
        var tags = Command.Run("umoci", ["ls", "--layout", layout]);
        Assert.True(tags.ExitCode == 0, tags.Output);
        Assert.Equal("latest", tags.StandardOutput.Trim());
        using (var image = ImageReader.FromLayout(layout, "latest"))
        {
            Assert.Equal(digest, image.Inspect().GetProperty("Digest").GetString());
            Assert.Contains("Hello from Nix!", image.Run().Output, StringComparison.Ordinal);
        }

        // Unchanged: the registry is only asked, and the documents stay as they were.
        var before = File.ReadAllBytes(cdx);
        var mark = registry.Mark();
        var again = Registry.RegistryPush.Publish(project, registry.Name, "sbom/app", [$"-p:NixImageOciLayoutPath={layout}", "-p:Version=2.5.0"]);
        Assert.True(again.ExitCode == 0, again.Output);
        Assert.All(registry.AccessLogSince(mark), e => Assert.True(e.Method is "GET" or "HEAD", $"{e.Method} {e.Path}"));
        Assert.Equal(before, File.ReadAllBytes(cdx));
    }

    /// <summary>
    /// HelloNix with what a real app has: a package with files (Newtonsoft.Json), a PrivateAssets="all" package with
    /// files that publish leaves out (SharpZipLib), an analyzer package (xunit.analyzers), Nixery.Build itself, and a
    /// project reference that brings its own package (System.IO.Hashing). Restored for linux-x64.
    /// </summary>
    private SampleProject RestoredProject()
    {
        var project = SampleProject.Copy(_feed);
        var lib = Path.Combine(project.Root, "Lib");
        Directory.CreateDirectory(lib);
        File.WriteAllText(Path.Combine(lib, "Lib.csproj"), """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><TargetFramework>net10.0</TargetFramework><Version>1.2.3</Version></PropertyGroup>
              <ItemGroup><PackageReference Include="System.IO.Hashing" Version="10.0.0" /></ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(lib, "L.cs"), "namespace Lib; public static class L { public static int X => 1; }\n");
        project.AddToProject("""
            <ItemGroup>
              <PackageReference Include="Newtonsoft.Json" Version="13.0.3" />
              <PackageReference Include="SharpZipLib" Version="1.4.2" PrivateAssets="all" />
              <PackageReference Include="xunit.analyzers" Version="1.18.0" />
              <ProjectReference Include="../Lib/Lib.csproj" />
            </ItemGroup>
            """);
        project.Dotnet(["restore", project.ProjectFile, "-r", "linux-x64"], binaryLog: false).EnsureSuccess();
        return project;
    }
}
