namespace Nixery.Build.Tests;

/// <summary>DESIGN.md §3: the engine never touches MSBuild; only Tasks/ adapts it.</summary>
public class ArchitectureTests
{
    private static readonly string[] EngineFolders = ["Nix", "Layers", "Archive", "Cache", "Oci", "Registry", "Pipeline", "Diagnostics"];

    [Fact]
    public void EngineFoldersDoNotReferenceMicrosoftBuild()
    {
        var source = Path.Combine(RepositoryRoot.Path, "src", "Nixery.Build.Tasks");
        var offenders = EngineFolders
            .Select(folder => Path.Combine(source, folder))
            .Where(Directory.Exists)
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories))
            .Where(file => File.ReadAllText(file).Contains("Microsoft.Build", StringComparison.Ordinal))
            .Select(file => Path.GetRelativePath(source, file))
            .ToList();

        Assert.Empty(offenders);
    }
}
