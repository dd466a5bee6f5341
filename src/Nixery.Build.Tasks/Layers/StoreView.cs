using Nixery.Build.LayerFormat;

namespace Nixery.Build.Layers;

public enum StoreNodeKind
{
    Directory,
    File,
    Symlink,
}

/// <summary>A file, folder or symlink inside a store path, by its absolute path (<c>/nix/store/…-jq-1.7.1-bin/bin/jq</c>).</summary>
public sealed record StoreNode(string Path, StoreNodeKind Kind, string? LinkTarget)
{
    public string Name => Path[(Path.LastIndexOf('/') + 1)..];
}

/// <summary>
/// What the store paths of a closure hold, wherever they are: the Nix store on disk (<see cref="DiskStore"/>), or
/// NARs from a binary cache (<c>BinaryCache/NarStore</c>). The layers read store paths only through this, so both
/// give the same entries, and so the same layers.
/// </summary>
public interface IStoreView
{
    /// <summary>The layer entries of one store path: the path itself, then its contents depth first, children in name order.</summary>
    IEnumerable<LayerEntry> Entries(string storePath);

    /// <summary>The node at <paramref name="path"/>, not following it if it is a symlink (symlinks on the way to it are followed); null when nothing is there.</summary>
    StoreNode? Stat(string path);

    /// <summary>The children of the folder at <paramref name="folder"/> (followed if it is a symlink), in ordinal name order; empty when it is not a folder.</summary>
    IReadOnlyList<StoreNode> Children(string folder);

    /// <summary>The node a path leads to after every symlink is followed; null when it leads nowhere, or round in a loop.</summary>
    StoreNode? Resolve(string path);

    /// <summary>Whether <paramref name="path"/> is a folder, or a symlink that leads to one.</summary>
    bool IsFolder(string path);
}

/// <summary>Symlink arithmetic shared by the store views.</summary>
public static class StoreViews
{
    /// <summary>How many symlinks one lookup follows before it gives up, as Linux does (ELOOP).</summary>
    public const int MaxLinkHops = 40;

    /// <summary>Where a symlink at <paramref name="linkPath"/> with <paramref name="target"/> points, as an absolute path.</summary>
    public static string TargetOf(string linkPath, string target) =>
        Normalize(target.StartsWith('/') ? target : linkPath[..linkPath.LastIndexOf('/')] + "/" + target);

    /// <summary>An absolute path without <c>.</c>, <c>..</c> or empty parts (lexically, as a symlink target is read).</summary>
    public static string Normalize(string absolute)
    {
        var parts = new List<string>();
        foreach (var part in absolute.Split('/'))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }

                continue;
            }

            parts.Add(part);
        }

        return "/" + string.Join('/', parts);
    }
}

/// <summary>The Nix store on disk, as Nix realised it: entries keep the modes Nix gave them (already normalised).</summary>
public sealed class DiskStore : IStoreView
{
    public static readonly DiskStore Instance = new();

    private DiskStore()
    {
    }

    public IEnumerable<LayerEntry> Entries(string storePath) => FileTree.Walk(storePath, storePath.TrimStart('/'), FileTree.KeepMode);

    public StoreNode? Stat(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is { } target)
        {
            return new StoreNode(path, StoreNodeKind.Symlink, target);
        }

        return Directory.Exists(path) ? new StoreNode(path, StoreNodeKind.Directory, null)
            : info.Exists ? new StoreNode(path, StoreNodeKind.File, null)
            : null;
    }

    /// <summary>Follows symlinks one at a time, reading each target as the path it names.</summary>
    public StoreNode? Resolve(string path)
    {
        var node = Stat(path);
        for (var hops = 0; node is { Kind: StoreNodeKind.Symlink, LinkTarget: { } target }; hops++)
        {
            if (hops == StoreViews.MaxLinkHops)
            {
                return null;
            }

            node = Stat(StoreViews.TargetOf(node.Path, target));
        }

        return node;
    }

    /// <summary>As the kernel answers it (a <c>..</c> after a symlinked folder is the folder's parent where it really is).</summary>
    public bool IsFolder(string path) => Directory.Exists(path);

    public IReadOnlyList<StoreNode> Children(string folder) =>
        !Directory.Exists(folder) ? []
        : new DirectoryInfo(folder).EnumerateFileSystemInfos()
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .Select(c => new StoreNode(
                folder + "/" + c.Name,
                c.LinkTarget is not null ? StoreNodeKind.Symlink : c is DirectoryInfo ? StoreNodeKind.Directory : StoreNodeKind.File,
                c.LinkTarget))
            .ToList();
}
