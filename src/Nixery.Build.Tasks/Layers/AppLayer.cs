using Nixery.Build.LayerFormat;

namespace Nixery.Build.Layers;

/// <summary>
/// The published app under the working directory (<c>/app</c>): folders 0755, files 0644 or 0755
/// when executable on disk, owned by root, with the working directory's parents present.
/// <see cref="AppLayerSplit"/> decides which files go into which of the app layers.
/// </summary>
public static class AppLayer
{
    /// <summary>Every file of the publish folder.</summary>
    /// <param name="publishDirectory">The publish output folder.</param>
    /// <param name="workingDirectory">Absolute path in the image, e.g. <c>/app</c>.</param>
    public static IEnumerable<LayerEntry> Entries(string publishDirectory, string workingDirectory) =>
        Entries(publishDirectory, workingDirectory, AppFileGroup.Everything);

    /// <summary>The files of one group, with the folders that hold them (all folders for the catch-all group).</summary>
    /// <param name="patches">Patches for some files (see <see cref="NativeLinking"/>), by path relative to the publish folder.</param>
    public static IEnumerable<LayerEntry> Entries(string publishDirectory, string workingDirectory, AppFileGroup group, IReadOnlyDictionary<string, FilePatch>? patches = null)
    {
        var destination = workingDirectory.Trim('/');
        var parts = destination.Split('/');
        for (var i = 1; i < parts.Length; i++)
        {
            yield return new DirectoryEntry(string.Join('/', parts[..i]), UnixModes.Executable);
        }

        var prefix = destination + "/";
        foreach (var entry in FileTree.Walk(Path.GetFullPath(publishDirectory), destination, FileTree.NormalizedMode))
        {
            if (entry.Path == destination)
            {
                yield return entry;
                continue;
            }

            var relative = entry.Path[prefix.Length..];
            var keep = entry is DirectoryEntry ? group.HoldsFolder(relative) : group.Holds(relative);
            if (!keep)
            {
                continue;
            }

            if (entry is FileEntry file && patches is not null && patches.TryGetValue(relative, out var patch))
            {
                yield return file with { Patch = patch };
            }
            else
            {
                yield return entry;
            }
        }
    }
}
