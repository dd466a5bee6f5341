using System.Security.Cryptography;
using System.Text;
using Nixery.Build.Diagnostics;
using Nixery.Build.Sbom;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Sbom;

public sealed class AppPackagesTests : IDisposable
{
    private static readonly Dictionary<string, string[]> Runtime = new() { ["compile"] = ["lib/net8.0/X.dll"], ["runtime"] = ["lib/net8.0/X.dll"] };

    private readonly TempDirectory _root = new("nixery-sbom");

    public void Dispose() => _root.Dispose();

    private AssetsFileBuilder Assets() => new(_root);

    private static AppPackages Read(AssetsFileBuilder assets, string path) => AppPackages.Read(path, assets.TargetFramework, assets.RuntimeIdentifier);

    [Fact]
    public void ListsPackagesWithRuntimeFilesWithNormalisedVersionHashAndLicence()
    {
        var assets = Assets().Package("Newtonsoft.Json", "13.0.3", Runtime, licenseExpression: "MIT", direct: true);
        var packages = Read(assets, assets.Write());

        var package = Assert.Single(packages.Packages);
        Assert.Equal("Newtonsoft.Json", package.Id);
        Assert.Equal("13.0.3", package.Version);
        Assert.Equal("MIT", package.License);
        Assert.Equal(Convert.ToHexStringLower(SHA512.HashData(Encoding.UTF8.GetBytes("Newtonsoft.Json13.0.3"))), package.Sha512);
        Assert.Equal(128, package.Sha512!.Length);
        Assert.Equal(["Newtonsoft.Json"], packages.Direct);
    }

    [Theory]
    [InlineData("1.0", "1.0.0")]
    [InlineData("1.0.0.0", "1.0.0")]
    [InlineData("2.1.0-Preview.1", "2.1.0-Preview.1")]
    [InlineData("1.2.3.4", "1.2.3.4")]
    public void VersionsAreNormalisedByNuGetVersioning(string written, string normalised)
    {
        var assets = Assets().Package("Some.Package", written, Runtime, direct: true);
        Assert.Equal(normalised, Assert.Single(Read(assets, assets.Write()).Packages).Version);
    }

    [Fact]
    public void PrivateAssetsAllPackagesAndWhatOnlyTheyBringInAreLeftOutAsPublishLeavesThemOut()
    {
        var assets = Assets()
            .Package("App.Dependency", "1.0.0", Runtime, dependencies: ["Shared"], direct: true)
            .Package("Build.Tool", "2.0.0", Runtime, dependencies: ["Shared", "Only.For.Tool"], privateAssets: "All")
            .Package("Only.For.Tool", "1.0.0", Runtime)
            .Package("Shared", "3.0.0", Runtime);
        var packages = Read(assets, assets.Write());

        Assert.Equal(["App.Dependency", "Shared"], packages.Packages.Select(p => p.Id));
        Assert.Equal(["App.Dependency"], packages.Direct);
    }

    [Fact]
    public void AnalyzersBuildOnlyPackagesEmptyFolderMarkersAndNixeryBuildAreLeftOut()
    {
        var assets = Assets()
            .Package("Some.Analyzers", "1.18.0", new() { ["analyzers"] = ["analyzers/dotnet/cs/A.dll"] }, direct: true)
            .Package("Build.Props", "1.0.0", new() { ["build"] = ["build/Build.Props.props"] }, direct: true)
            .Package("Marker.Only", "1.0.0", new() { ["compile"] = ["lib/net8.0/_._"], ["runtime"] = ["lib/net8.0/_._"] }, direct: true)
            .Package("Nixery.Build", "1.0.0", new() { ["build"] = ["build/Nixery.Build.props"] }, privateAssets: "All")
            .Package("Native.Only", "1.0.0", new() { ["native"] = ["runtimes/linux-x64/native/libx.so"] }, direct: true);
        var packages = Read(assets, assets.Write());

        Assert.Equal(["Native.Only"], packages.Packages.Select(p => p.Id));
    }

    [Fact]
    public void DependenciesGoThroughPackagesThatPutNoFilesInTheApp()
    {
        var assets = Assets()
            .Package("Top", "1.0.0", Runtime, dependencies: ["Meta"], direct: true)
            .Package("Meta", "1.0.0", dependencies: ["Leaf.A", "Leaf.B"])
            .Package("Leaf.A", "1.0.0", Runtime)
            .Package("Leaf.B", "1.0.0", Runtime);
        var packages = Read(assets, assets.Write());

        Assert.Equal(["Leaf.A", "Leaf.B", "Top"], packages.Packages.Select(p => p.Id));
        Assert.Equal(["Leaf.A", "Leaf.B"], packages.Packages.Single(p => p.Id == "Top").Dependencies);
    }

    [Fact]
    public void ProjectReferencesAreListedWithTheirPackages()
    {
        var assets = Assets()
            .Project("MyLib", "1.2.3", dependencies: ["System.IO.Hashing"])
            .Package("System.IO.Hashing", "10.0.0", Runtime, licenseExpression: "MIT");
        var packages = Read(assets, assets.Write());

        var project = Assert.Single(packages.Projects);
        Assert.Equal(("MyLib", "1.2.3"), (project.Name, project.Version));
        Assert.Equal(["System.IO.Hashing"], project.Dependencies);
        Assert.Equal(["System.IO.Hashing"], packages.Packages.Select(p => p.Id));
        Assert.Equal(["MyLib"], packages.Direct);
    }

    [Fact]
    public void TheHashIsTheNupkgsAsNuGetRecordedItNotTheContentHash()
    {
        var assets = Assets()
            .Package("Recorded", "1.0.0", Runtime, direct: true)
            .Package("Garbled", "1.0.0", Runtime, direct: true, sha512: "not base64!");
        var packages = Read(assets, assets.Write());

        Assert.Equal(Convert.ToHexStringLower(Convert.FromBase64String(AssetsFileBuilder.NupkgHash("Recorded", "1.0.0"))), packages.Packages.Single(p => p.Id == "Recorded").Sha512);
        Assert.Null(packages.Packages.Single(p => p.Id == "Garbled").Sha512);
    }

    [Fact]
    public void ALicenceUrlGivesNoLicence()
    {
        var assets = Assets().Package("Old.Package", "1.0.0", Runtime, licenseUrl: "https://example.invalid/license", direct: true);
        Assert.Null(Assert.Single(Read(assets, assets.Write()).Packages).License);
    }

    [Fact]
    public void ALibraryPathOutsideThePackageFolderIsNotFollowed()
    {
        _root.CreateFile("outside/evil.package.nuspec", """<package><metadata><license type="expression">MIT</license></metadata></package>""");
        var assets = Assets().Package("Evil.Package", "1.0.0", Runtime, direct: true, libraryPath: "../outside");
        Assert.Null(Assert.Single(Read(assets, assets.Write()).Packages).License);
    }

    [Fact]
    public void TheTargetIsChosenByFrameworkAndRuntimeIdentifier()
    {
        var assets = Assets().Package("A", "1.0.0", Runtime, direct: true);
        var path = assets.Write();

        Assert.Single(AppPackages.Read(path, "net10.0", null).Packages);
        var error = Assert.Throws<NixImageException>(() => AppPackages.Read(path, "net10.0", "linux-arm64"));
        Assert.Equal(ErrorCodes.AssetsFileUnreadable, error.Code);
        Assert.Contains("linux-arm64", error.Message, StringComparison.Ordinal);
        error = Assert.Throws<NixImageException>(() => AppPackages.Read(path, "net9.0", "linux-x64"));
        Assert.Contains("not net9.0", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("[]")]
    [InlineData("""{"targets":{}}""")]
    [InlineData("""{"project":{"frameworks":{"net10.0":{}}},"targets":{"net10.0/linux-x64":{"A/not-a-version":{"type":"package"}}},"libraries":{},"projectFileDependencyGroups":{"net10.0":[]}}""")]
    [InlineData("""{"project":{"frameworks":{"net10.0":{}}},"targets":{"net10.0/linux-x64":{"A/1.0.0":"package"}},"libraries":{},"projectFileDependencyGroups":{"net10.0":[]}}""")]
    [InlineData("""{"project":{"frameworks":{"net10.0":{}}},"targets":{"net10.0/linux-x64":{"A":{}}},"libraries":{},"projectFileDependencyGroups":{"net10.0":[]}}""")]
    public void AMalformedAssetsFileIsNiximg059(string text)
    {
        var path = _root.CreateFile("bad/project.assets.json", text);
        var error = Assert.Throws<NixImageException>(() => AppPackages.Read(path, "net10.0", "linux-x64"));
        Assert.Equal(ErrorCodes.AssetsFileUnreadable, error.Code);
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains("dotnet restore", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingAssetsFileIsNiximg059()
    {
        var error = Assert.Throws<NixImageException>(() => AppPackages.Read(_root.Combine("obj/project.assets.json"), "net10.0", "linux-x64"));
        Assert.Equal(ErrorCodes.AssetsFileUnreadable, error.Code);
        Assert.Contains("no such file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAssetsFileOverTheCapIsNotRead()
    {
        var path = _root.Combine("huge.json");
        using (var stream = File.Create(path))
        {
            // Sparse: the cap is checked before a byte is read.
            stream.SetLength(AppPackages.MaxAssetsFileBytes + 1);
        }

        var error = Assert.Throws<NixImageException>(() => AppPackages.Read(path, "net10.0", "linux-x64"));
        Assert.Equal(ErrorCodes.AssetsFileUnreadable, error.Code);
        Assert.Contains("64 MiB", error.Message, StringComparison.Ordinal);
    }
}
