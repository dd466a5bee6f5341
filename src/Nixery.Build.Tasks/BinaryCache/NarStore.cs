using System.Collections.Concurrent;
using Nixery.Build.Diagnostics;
using Nixery.Build.LayerFormat;
using Nixery.Build.Layers;

namespace Nixery.Build.BinaryCache;

/// <summary>
/// Store paths read from their NARs in the layer cache, as the layers read the Nix store: the same entries in the
/// same order with the same modes (Nix's 0444/0555 files, 0555 folders), so the layers come out byte for byte as
/// from the store on disk. A NAR is indexed (headers only) the first time one of its paths is asked about; a file's
/// bytes are read from inside the NAR when the tar is written.
/// </summary>
public sealed class NarStore : IStoreView
{
    private const int ReadOnly = 0b100_100_100;
    private const int ReadOnlyExecutable = 0b101_101_101;

    private readonly IReadOnlyDictionary<string, string> _narFiles;
    private readonly ConcurrentDictionary<string, Lazy<NarIndex>> _indexes = new(StringComparer.Ordinal);

    /// <param name="narFiles">Each store path's NAR file.</param>
    public NarStore(IReadOnlyDictionary<string, string> narFiles) => _narFiles = narFiles;

    public IEnumerable<LayerEntry> Entries(string storePath)
    {
        var index = IndexOf(storePath) ?? throw new FileNotFoundException($"'{storePath}' is not in the locked closure.", storePath);
        var prefix = storePath.TrimStart('/');
        foreach (var node in index.Nodes)
        {
            var path = node.Path.Length == 0 ? prefix : prefix + "/" + node.Path;
            yield return node.Kind switch
            {
                NarNodeKind.Directory => new DirectoryEntry(path, ReadOnlyExecutable),
                NarNodeKind.Symlink => new SymlinkEntry(path, node.LinkTarget!),
                _ => new FileEntry(path, node.Executable ? ReadOnlyExecutable : ReadOnly, index.File, node.Size) { Offset = node.ContentOffset },
            };
        }
    }

    public StoreNode? Stat(string path)
    {
        var budget = StoreViews.MaxLinkHops;
        return Stat(path, ref budget);
    }

    public StoreNode? Resolve(string path)
    {
        var budget = StoreViews.MaxLinkHops;
        return Resolve(path, ref budget);
    }

    public bool IsFolder(string path) => Resolve(path) is { Kind: StoreNodeKind.Directory };

    /// <summary>
    /// The node at <paramref name="path"/>, following symlinks on the way (not at the end) as the kernel does: each
    /// part is looked up in the folder it really is in. Every symlink followed, here or in what this calls, spends one
    /// of <paramref name="budget"/>; when it is spent the path leads nowhere (a loop).
    /// </summary>
    private StoreNode? Stat(string path, ref int budget)
    {
        var (storePath, relative) = Split(path);
        if (storePath is null || IndexOf(storePath) is not { } index)
        {
            return null;
        }

        if (relative.Length == 0)
        {
            return index.ByPath.TryGetValue(string.Empty, out var root) ? ToStoreNode(storePath, string.Empty, root) : null;
        }

        var parts = relative.Split('/');
        var currentRelative = string.Empty;
        for (var i = 0; i < parts.Length; i++)
        {
            var childRelative = currentRelative.Length == 0 ? parts[i] : currentRelative + "/" + parts[i];
            if (!index.ByPath.TryGetValue(childRelative, out var node))
            {
                return null;
            }

            if (i == parts.Length - 1)
            {
                return ToStoreNode(storePath, childRelative, node);
            }

            if (node.Kind == NarNodeKind.Symlink)
            {
                if (Resolve(storePath + "/" + childRelative, ref budget) is not { Kind: StoreNodeKind.Directory } folder)
                {
                    return null;
                }

                return Stat(folder.Path + "/" + string.Join('/', parts[(i + 1)..]), ref budget);
            }

            if (node.Kind != NarNodeKind.Directory)
            {
                return null;
            }

            currentRelative = childRelative;
        }

        return null;
    }

    private StoreNode? Resolve(string path, ref int budget)
    {
        var node = Stat(path, ref budget);
        while (node is { Kind: StoreNodeKind.Symlink, LinkTarget: { } target })
        {
            if (--budget < 0)
            {
                return null;
            }

            node = Stat(StoreViews.TargetOf(node.Path, target), ref budget);
        }

        return node;
    }

    public IReadOnlyList<StoreNode> Children(string folder)
    {
        var resolved = Resolve(folder);
        if (resolved is not { Kind: StoreNodeKind.Directory })
        {
            return [];
        }

        var (storePath, relative) = Split(resolved.Path);
        var index = IndexOf(storePath!)!;
        return index.ChildrenOf.TryGetValue(relative, out var children)
            ? children.Select(n => ToStoreNode(storePath!, n.Path, n)).OrderBy(n => n.Name, StringComparer.Ordinal).ToList()
            : [];
    }

    private static StoreNode ToStoreNode(string storePath, string relative, NarNode node) => new(
        relative.Length == 0 ? storePath : storePath + "/" + relative,
        node.Kind switch { NarNodeKind.Directory => StoreNodeKind.Directory, NarNodeKind.Symlink => StoreNodeKind.Symlink, _ => StoreNodeKind.File },
        node.LinkTarget);

    /// <summary>A path as its store path (<c>/nix/store/&lt;hash&gt;-name</c>) and the rest; no store path when it is not in one this view holds.</summary>
    private (string? StorePath, string Relative) Split(string path)
    {
        var normalized = StoreViews.Normalize(path);
        foreach (var storePath in Candidates(normalized))
        {
            if (_narFiles.ContainsKey(storePath))
            {
                return (storePath, normalized.Length == storePath.Length ? string.Empty : normalized[(storePath.Length + 1)..]);
            }
        }

        return (null, string.Empty);
    }

    /// <summary>The prefixes of an absolute path, shortest first: one of them is the store path.</summary>
    private static IEnumerable<string> Candidates(string path)
    {
        for (var slash = path.IndexOf('/', 1); slash >= 0; slash = path.IndexOf('/', slash + 1))
        {
            yield return path[..slash];
        }

        yield return path;
    }

    private NarIndex? IndexOf(string storePath) =>
        _narFiles.TryGetValue(storePath, out var file)
            ? _indexes.GetOrAdd(storePath, _ => new Lazy<NarIndex>(() => Index(storePath, file))).Value
            : null;

    /// <summary>A NAR's index; one that is not a well-formed NAR (an entry named '..', a name with '/') is NIXIMG051.</summary>
    private static NarIndex Index(string storePath, string file)
    {
        try
        {
            return NarIndex.Read(file);
        }
        catch (InvalidDataException e)
        {
            throw new NixImageException(
                ErrorCodes.NarUnusable,
                $"The NAR of {storePath} is not a well-formed NAR ({e.Message}), though its hash is the one the lock file names: the lock was written from a store or cache that holds a malformed path. "
                + "Write the lock again on a machine with Nix from a package set you trust ('dotnet build -t:NixLock'), and fill the cache from that machine.",
                e);
        }
    }

    private sealed record NarIndex(
        string File,
        IReadOnlyList<NarNode> Nodes,
        IReadOnlyDictionary<string, NarNode> ByPath,
        IReadOnlyDictionary<string, List<NarNode>> ChildrenOf)
    {
        public static NarIndex Read(string file)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 12);
            var nodes = NarReader.Index(stream);
            var children = new Dictionary<string, List<NarNode>>(StringComparer.Ordinal);
            foreach (var node in nodes.Where(n => n.Path.Length > 0))
            {
                var slash = node.Path.LastIndexOf('/');
                var parent = slash < 0 ? string.Empty : node.Path[..slash];
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }

                list.Add(node);
            }

            return new NarIndex(file, nodes, nodes.ToDictionary(n => n.Path, StringComparer.Ordinal), children);
        }
    }
}
