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
