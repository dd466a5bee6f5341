using System.Globalization;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// Packs Nixery.Build once per test run into a private feed with a version of its own, and gives
/// every consumer an isolated NuGet cache, so no test ever sees a package from an earlier build.
/// </summary>
public sealed class PackageFeed : IDisposable
{
    private readonly TempDirectory _root = new("nixery-feed");

    public PackageFeed()
    {
        Prerequisites.Require();
        Version = "0.1.0-e2e." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        FeedDirectory = _root.Combine("feed");
        NuGetPackages = _root.Combine("nuget-packages");
        Directory.CreateDirectory(FeedDirectory);
        Command.Run(
            "dotnet",
            [
                "pack", Path.Combine(RepositoryRoot.Path, "src", "Nixery.Build.Tasks"),
                "-c", "Release", "-o", FeedDirectory, "-p:VersionSuffix=" + Version["0.1.0-".Length..], "-nologo",
            ]).EnsureSuccess();
        PackagePath = Path.Combine(FeedDirectory, $"Nixery.Build.{Version}.nupkg");
        Assert.True(File.Exists(PackagePath), $"dotnet pack did not produce {PackagePath}");
    }

    public string Version { get; }

    public string FeedDirectory { get; }

    public string PackagePath { get; }

    /// <summary>NUGET_PACKAGES for every consuming build: isolated from the user's cache.</summary>
    public string NuGetPackages { get; }

    public void Dispose() => _root.Dispose();
}

[CollectionDefinition(Name)]
public sealed class EndToEndTests : ICollectionFixture<PackageFeed>
{
    public const string Name = "end-to-end";
}
