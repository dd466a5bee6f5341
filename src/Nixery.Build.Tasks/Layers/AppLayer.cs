using Nixery.Build.Archive;

namespace Nixery.Build.Layers;

/// <summary>
/// The published app under the working directory (<c>/app</c>): folders 0755, files 0644 or 0755
/// when executable on disk, owned by root, with the working directory's parents present.
/// </summary>
public static class AppLayer
{
    /// <param name="publishDirectory">The publish output folder.</param>
    /// <param name="workingDirectory">Absolute path in the image, e.g. <c>/app</c>.</param>
    public static IEnumerable<LayerEntry> Entries(string publishDirectory, string workingDirectory)
    {
        var destination = workingDirectory.Trim('/');
        var parts = destination.Split('/');
        for (var i = 1; i < parts.Length; i++)
        {
            yield return new DirectoryEntry(string.Join('/', parts[..i]), UnixModes.Executable);
        }

        foreach (var entry in FileTree.Walk(Path.GetFullPath(publishDirectory), destination, FileTree.NormalizedMode))
        {
            yield return entry;
        }
    }
}
