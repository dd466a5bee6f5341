using Nixery.Build.Diagnostics;
using Nixery.Build.LayerFormat;

namespace Nixery.Build.Layers;

/// <summary>
/// The layer that makes the store usable at the usual places: the union of the top-level packages'
/// trees as real folders holding symlinks into the store (what nixpkgs' <c>symlinkJoin</c> makes),
/// so <c>/bin/jq</c>, <c>/lib64/ld-linux-x86-64.so.2</c> and <c>/etc/ssl/certs/ca-bundle.crt</c> resolve.
/// Also <c>/tmp</c> (1777), <c>/usr/bin/env</c> when some package provides <c>bin/env</c>, and generated
/// entries (the user database, home folders) that take precedence over what packages provide.
/// When two packages provide the same path, the first in package order wins and a warning says so.
/// </summary>
public static class SymlinkLayer
{
    private abstract record Node;

    private sealed record Folder(SortedDictionary<string, Node> Children) : Node
    {
        /// <summary>Set when a generated entry gives this folder its own mode or owner.</summary>
        public DirectoryEntry? Generated { get; set; }
    }

    private sealed record Link(string Target, string Package) : Node;

    private sealed record GeneratedFile(LayerEntry Entry) : Node;

    /// <param name="packageRoots">Store paths of the top-level packages, in precedence order.</param>
    public static IReadOnlyList<LayerEntry> Build(IReadOnlyList<string> packageRoots, IStoreView store, IBuildLog log) =>
        Build(packageRoots, [], store, log);

    /// <summary>
    /// Where the top-level packages' tree goes in an image built on a base image, whose <c>/bin</c>, <c>/lib</c> and
    /// <c>/etc</c> stay the base's: a profile folder, as Nix's own profiles are (its <c>bin</c> is put first on PATH).
    /// </summary>
    public const string ProfilePath = "/nix/var/nix/profiles/nixery-build";

    /// <summary>
    /// The layer of an image built on a base: the top-level packages' tree under <see cref="ProfilePath"/> (nothing of
    /// it at the root, so no file of the base is replaced), and <paramref name="rootEntries"/> (what the base's root
    /// gains, see <see cref="UserDatabase.EntriesOver"/>).
    /// </summary>
    public static IReadOnlyList<LayerEntry> BuildOverBase(IReadOnlyList<string> packageRoots, IReadOnlyList<LayerEntry> rootEntries, IStoreView store, IBuildLog log)
    {
        var prefix = ProfilePath.TrimStart('/');
        var entries = new List<LayerEntry>();
        var parts = prefix.Split('/');
        for (var n = 1; n <= parts.Length; n++)
        {
            entries.Add(new DirectoryEntry(string.Join('/', parts[..n]), UnixModes.Executable));
        }

        foreach (var entry in Join(packageRoots, [], store, log, imageRoot: false))
        {
            entries.Add(entry with { Path = prefix + "/" + entry.Path });
        }

        entries.AddRange(rootEntries);
        return entries.OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
    }

    /// <param name="packageRoots">Store paths of the top-level packages, in precedence order.</param>
    /// <param name="generated">Entries made by the build (folders, small files); they replace what packages provide at their paths.</param>
    public static IReadOnlyList<LayerEntry> Build(IReadOnlyList<string> packageRoots, IReadOnlyList<LayerEntry> generated, IStoreView store, IBuildLog log) =>
        Join(packageRoots, generated, store, log, imageRoot: true).OrderBy(e => e.Path, StringComparer.Ordinal).ToList();

    /// <param name="imageRoot">True for the image's root: it also gets <c>/usr/bin/env</c> and <c>/tmp</c>.</param>
    private static List<LayerEntry> Join(IReadOnlyList<string> packageRoots, IReadOnlyList<LayerEntry> generated, IStoreView store, IBuildLog log, bool imageRoot)
    {
        var root = new Folder(new SortedDictionary<string, Node>(StringComparer.Ordinal));
        foreach (var package in packageRoots)
        {
            if (store.Stat(package) is not { Kind: StoreNodeKind.Directory })
            {
                log.Detail($"symlinks: {package} is not a folder; nothing of it is linked into the image root");
                continue;
            }

            Join(root, package, package, string.Empty, store, log);
        }

        if (imageRoot)
        {
            AddUsrBinEnv(root);
        }

        foreach (var entry in generated)
        {
            AddGenerated(root, entry, log);
        }

        var entries = new List<LayerEntry>();
        Emit(root, string.Empty, entries);
        if (imageRoot && !root.Children.ContainsKey("tmp"))
        {
            entries.Add(new DirectoryEntry("tmp", UnixModes.StickyWorldWritable));
        }

        return entries;
    }

    private static void Join(Folder into, string package, string sourceFolder, string relative, IStoreView store, IBuildLog log)
    {
        foreach (var child in store.Children(sourceFolder))
        {
            var path = relative.Length == 0 ? child.Name : relative + "/" + child.Name;
            var isFolder = child.Kind == StoreNodeKind.Directory;
            into.Children.TryGetValue(child.Name, out var existing);
            switch (existing)
            {
                case null when isFolder:
                    var folder = new Folder(new SortedDictionary<string, Node>(StringComparer.Ordinal));
                    into.Children.Add(child.Name, folder);
                    Join(folder, package, child.Path, path, store, log);
                    break;
                case null:
                    into.Children.Add(child.Name, new Link(child.Path, package));
                    break;
                case Folder folderSoFar when isFolder:
                    Join(folderSoFar, package, child.Path, path, store, log);
                    break;
                case Link link when SameFile(link.Target, child.Path, store):
                    break;
                default:
                    var kept = existing is Link l ? l.Package : "a folder of earlier packages";
                    log.Warning(
                        ErrorCodes.SymlinkCollision,
                        $"/{path} is provided by both {kept} and {package}; the image keeps the one from {kept}. "
                        + "Remove one of the packages if the other version is the one you need.");
                    break;
            }
        }
    }

    /// <summary>Two packages may link the same file (coreutils' <c>bin/ls</c> and busybox's both lead to busybox): no conflict.</summary>
    private static bool SameFile(string a, string b, IStoreView store) =>
        a == b || (store.Resolve(a)?.Path ?? a) == (store.Resolve(b)?.Path ?? b);

    /// <summary>Scripts start with <c>#!/usr/bin/env</c>; give them one when a package has <c>bin/env</c>.</summary>
    private static void AddUsrBinEnv(Folder root)
    {
        if (!root.Children.TryGetValue("bin", out var bin) || bin is not Folder binFolder
            || !binFolder.Children.TryGetValue("env", out var env) || env is not Link envLink)
        {
            return;
        }

        if (!root.Children.TryGetValue("usr", out var usr))
        {
            usr = new Folder(new SortedDictionary<string, Node>(StringComparer.Ordinal));
            root.Children.Add("usr", usr);
        }

        if (usr is not Folder usrFolder)
        {
            return;
        }

        if (!usrFolder.Children.TryGetValue("bin", out var usrBin))
        {
            usrBin = new Folder(new SortedDictionary<string, Node>(StringComparer.Ordinal));
            usrFolder.Children.Add("bin", usrBin);
        }

        if (usrBin is Folder usrBinFolder)
        {
            usrBinFolder.Children.TryAdd("env", envLink);
        }
    }

    private static void AddGenerated(Folder root, LayerEntry entry, IBuildLog log)
    {
        var parts = entry.Path.Split('/');
        var folder = root;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            if (!folder.Children.TryGetValue(parts[i], out var next))
            {
                next = new Folder(new SortedDictionary<string, Node>(StringComparer.Ordinal));
                folder.Children.Add(parts[i], next);
            }

            if (next is not Folder nextFolder)
            {
                log.Warning(
                    ErrorCodes.UserDatabaseReplaced,
                    $"/{string.Join('/', parts[..(i + 1)])} is not a folder in the image root (a package links it), so /{entry.Path} cannot be added. "
                    + "Remove the package that provides it if the image needs /" + entry.Path + ".");
                return;
            }

            folder = nextFolder;
        }

        var name = parts[^1];
        folder.Children.TryGetValue(name, out var existing);
        if (entry is DirectoryEntry directory)
        {
            if (existing is Folder existingFolder)
            {
                existingFolder.Generated = directory;
                return;
            }

            folder.Children[name] = new Folder(new SortedDictionary<string, Node>(StringComparer.Ordinal)) { Generated = directory };
        }
        else
        {
            folder.Children[name] = new GeneratedFile(entry);
        }

        if (existing is Link link)
        {
            log.Warning(
                ErrorCodes.UserDatabaseReplaced,
                $"/{entry.Path} from {link.Package} is replaced by the one the image needs (see docs/configuration.md, non-root user). "
                + "Set ContainerUser and adjust the package if you need its version.");
        }
    }

    private static void Emit(Folder folder, string relative, List<LayerEntry> entries)
    {
        foreach (var (name, node) in folder.Children)
        {
            var path = relative.Length == 0 ? name : relative + "/" + name;
            switch (node)
            {
                case Folder child:
                    entries.Add(child.Generated ?? new DirectoryEntry(path, path == "tmp" ? UnixModes.StickyWorldWritable : UnixModes.Executable));
                    Emit(child, path, entries);
                    break;
                case Link link:
                    entries.Add(new SymlinkEntry(path, link.Target));
                    break;
                case GeneratedFile file:
                    entries.Add(file.Entry);
                    break;
            }
        }
    }
}
