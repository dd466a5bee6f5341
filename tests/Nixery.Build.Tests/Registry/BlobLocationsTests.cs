using System.Text.Json;
using Nixery.Build.Oci;
using Nixery.Build.Registry;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Registry;

public sealed class BlobLocationsTests : IDisposable
{
    private static readonly Digest A = Digest.Of("a"u8);
    private static readonly Digest B = Digest.Of("b"u8);

    private readonly TempDirectory _cache = new();

    public void Dispose() => _cache.Dispose();

    [Fact]
    public void WhatWasRememberedIsThereAfterSavingAndLoading()
    {
        var locations = BlobLocations.Load(_cache.Path);
        locations.Remember("r:5000", "team/one", [A, B]);
        locations.Remember("r:5000", "team/two", [A]);
        locations.Save();

        var loaded = BlobLocations.Load(_cache.Path);
        Assert.Equal(["team/two", "team/one"], loaded.RepositoriesHolding("r:5000", A, except: "other"));
        Assert.Equal(["team/one"], loaded.RepositoriesHolding("r:5000", A, except: "team/two"));
        Assert.Equal(["team/one"], loaded.RepositoriesHolding("r:5000", B, except: "other"));
        Assert.Empty(loaded.RepositoriesHolding("r:5001", A, except: "other"));
        Assert.Equal(["registry-blobs.json"], Directory.EnumerateFileSystemEntries(_cache.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void SavingMergesWithWhatAnotherBuildSavedMeanwhile()
    {
        var first = BlobLocations.Load(_cache.Path);
        var second = BlobLocations.Load(_cache.Path);
        first.Remember("r", "team/one", [A]);
        first.Save();
        second.Remember("r", "team/two", [A]);
        second.Save();

        Assert.Equal(["team/two", "team/one"], BlobLocations.Load(_cache.Path).RepositoriesHolding("r", A, except: "x"));
    }

    [Fact]
    public void RepositoriesPerBlobAreBoundedMostRecentFirst()
    {
        var locations = BlobLocations.Load(_cache.Path);
        foreach (var n in Enumerable.Range(1, 10))
        {
            locations.Remember("r", $"team/r{n}", [A]);
        }

        locations.Save();
        Assert.Equal(["team/r10", "team/r9", "team/r8", "team/r7"], BlobLocations.Load(_cache.Path).RepositoriesHolding("r", A, except: "x"));
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("[]")]
    [InlineData("""{"registries": {"r": {"not-a-digest": ["team/one"], "sha256:00": ["x"]}}}""")]
    public void ADamagedFileIsNoHintAndIsReplacedOnSave(string content)
    {
        File.WriteAllText(Path.Combine(_cache.Path, BlobLocations.FileName), content);
        var locations = BlobLocations.Load(_cache.Path);
        Assert.Empty(locations.RepositoriesHolding("r", A, except: "x"));

        locations.Remember("r", "team/one", [A]);
        locations.Save();
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(_cache.Path, BlobLocations.FileName)));
        Assert.Equal(1, document.RootElement.GetProperty("version").GetInt32());
        Assert.Equal(["team/one"], BlobLocations.Load(_cache.Path).RepositoriesHolding("r", A, except: "x"));
    }

    [Fact]
    public void InvalidRepositoryNamesInTheFileAreIgnored()
    {
        File.WriteAllText(
            Path.Combine(_cache.Path, BlobLocations.FileName),
            $$"""{"version":1,"registries":{"r":{"{{A}}":["team/one","../escape","UPPER"]} } }""");
        Assert.Equal(["team/one"], BlobLocations.Load(_cache.Path).RepositoriesHolding("r", A, except: "x"));
    }

    [Fact]
    public void TheCacheFolderIsCreatedWhenMissing()
    {
        var folder = Path.Combine(_cache.Path, "deeper", "still");
        var locations = BlobLocations.Load(folder);
        locations.Remember("r", "team/one", [A]);
        locations.Save();
        Assert.True(File.Exists(Path.Combine(folder, BlobLocations.FileName)));
    }
}
