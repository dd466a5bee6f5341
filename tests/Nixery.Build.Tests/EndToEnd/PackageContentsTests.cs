using System.IO.Compression;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// The nupkg ships the task assembly and its private dependencies under tasks/, the MSBuild logic under
/// build/ and buildTransitive/, nothing under lib/ and no dependencies for the consuming project.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class PackageContentsTests
{
    private readonly PackageFeed _feed;

    public PackageContentsTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public void PackageFileListIsPinned()
    {
        using var package = ZipFile.OpenRead(_feed.PackagePath);
        var files = package.Entries
            .Select(e => e.FullName)
            .Where(n => !n.StartsWith("package/", StringComparison.Ordinal) && !n.StartsWith("_rels/", StringComparison.Ordinal) && n != "[Content_Types].xml")
            .Order(StringComparer.Ordinal)
            .ToList();

        Assert.Equal(
            [
                "Nixery.Build.nuspec",
                "README.md",
                "build/Nixery.Build.props",
                "build/Nixery.Build.targets",
                "buildTransitive/Nixery.Build.props",
                "buildTransitive/Nixery.Build.targets",
                "tasks/net10.0/BouncyCastle.Cryptography.dll",
                "tasks/net10.0/ICSharpCode.SharpZipLib.dll",
                "tasks/net10.0/Nixery.Build.Tasks.dll",
                "tasks/net10.0/NuGet.Versioning.dll",
                "tasks/net10.0/SharpCompress.dll",
                "tasks/net10.0/System.IO.Hashing.dll",
            ],
            files);
    }

    [Fact]
    public void NuspecDeclaresNoDependenciesAndIsADevelopmentDependency()
    {
        using var package = ZipFile.OpenRead(_feed.PackagePath);
        using var reader = new StreamReader(package.GetEntry("Nixery.Build.nuspec")!.Open());
        var nuspec = reader.ReadToEnd();

        Assert.Contains("<developmentDependency>true</developmentDependency>", nuspec, StringComparison.Ordinal);
        Assert.DoesNotContain("<dependency ", nuspec, StringComparison.Ordinal);
    }
}
