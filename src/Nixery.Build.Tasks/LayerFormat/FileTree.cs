namespace Nixery.Build.LayerFormat;

/// <summary>
/// Turns a file or folder on disk into layer entries: depth first, children in ordinal order,
/// symlinks kept as symlinks (never followed), hard links written as the files they are.
/// Enumerates lazily; nothing is read until the tar writer asks for a file's bytes.
/// Folders, regular files and symlinks are taken; FIFOs, sockets and devices are left out without being opened.
/// </summary>
public static class FileTree
{
    /// <summary>How an entry's mode is decided from the mode on disk.</summary>
    public delegate int ModePolicy(UnixFileMode onDisk, bool isDirectory);

    /// <summary>Keep the permission bits as they are (the Nix store's 0444/0555 are already normalised).</summary>
    public static readonly ModePolicy KeepMode = (mode, _) => (int)mode & UnixModes.PermissionMask;

    /// <summary>0755 for folders and for files with any execute bit, 0644 for other files.</summary>
    public static readonly ModePolicy NormalizedMode = (mode, isDirectory) =>
        isDirectory || ((int)mode & UnixModes.AnyExecute) != 0 ? UnixModes.Executable : UnixModes.Regular;

    /// <summary>Entries for <paramref name="source"/> placed at <paramref name="destination"/> (relative to the image root).</summary>
    public static IEnumerable<LayerEntry> Walk(string source, string destination, ModePolicy mode)
    {
        var info = new FileInfo(source);
        if (info.LinkTarget is not null)
        {
            return [new SymlinkEntry(destination, info.LinkTarget)];
        }

        if (Directory.Exists(source))
        {
            return WalkDirectory(new DirectoryInfo(source), destination, mode);
        }

        if (!info.Exists)
        {
            throw new FileNotFoundException($"'{source}' does not exist.", source);
        }

        return [ToEntry(info, destination, mode)];
    }

    private static IEnumerable<LayerEntry> WalkDirectory(DirectoryInfo directory, string destination, ModePolicy mode)
    {
        yield return new DirectoryEntry(destination, mode(directory.UnixFileMode, isDirectory: true));
        var children = directory.EnumerateFileSystemInfos()
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .ToList();
        foreach (var child in children)
        {
            var path = destination + "/" + child.Name;
            if (child.LinkTarget is not null)
            {
                yield return new SymlinkEntry(path, child.LinkTarget);
            }
            else if (child is DirectoryInfo subdirectory)
            {
                foreach (var entry in WalkDirectory(subdirectory, path, mode))
                {
                    yield return entry;
                }
            }
            else if (FileKind.IsRegularFile(child.FullName))
            {
                yield return ToEntry((FileInfo)child, path, mode);
            }

            // A FIFO, socket or device is left out, never opened (the image step warns about those in the publish folder).
        }
    }

    private static FileEntry ToEntry(FileInfo file, string destination, ModePolicy mode) =>
        new(destination, mode(file.UnixFileMode, isDirectory: false), file.FullName, file.Length);
}
