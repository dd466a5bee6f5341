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

    [Fact]
    public void TasksReachTheEngineOnlyThroughPipeline()
    {
        // BuildNixImage.cs is being rewritten on another branch; it still writes its digest file itself.
        var tasks = Path.Combine(RepositoryRoot.Path, "src", "Nixery.Build.Tasks", "Tasks");
        var engine = new System.Text.RegularExpressions.Regex(@"\b(?:Nixery\.Build\.)?(?:Nix|Layers|Archive|Cache|Oci|Registry|Elf)\.[A-Z]|using Nixery\.Build\.(?!Pipeline;|Diagnostics;)");
        var offenders = Directory.EnumerateFiles(tasks, "*.cs")
            .Where(file => Path.GetFileName(file) != "BuildNixImage.cs")
            .SelectMany(file => File.ReadLines(file).Where(line => engine.IsMatch(line)).Select(line => $"{Path.GetFileName(file)}: {line.Trim()}"))
            .ToList();

        Assert.Empty(offenders);
    }
}
