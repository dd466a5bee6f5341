using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.LayerFormat;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Settings;
using Nixery.Build.Sources;

namespace Nixery.Build.Image;

/// <summary>One layer to build or reuse: what it holds, how to list its entries, and its cache key.</summary>
/// <param name="Key">Computed when the layer is about to be made (an app layer's key reads the publish folder).</param>
public sealed record LayerJob(string Description, Func<IEnumerable<LayerEntry>> Entries, string Detail, Func<string> Key);

/// <summary>
/// Turns what decides a layer's bytes (its kind and ordered inputs, as the planner names them) into its cache key. The
/// pipeline passes the freshness owner's (<c>ImageFreshness.LayerKey</c>, which adds the writer's settings).
/// </summary>
public delegate string LayerKeyOf(string kind, IEnumerable<string> inputs);

/// <summary>
/// Plans the image's layers, bottom first: Nix's groups (Nixery's algorithm under the budget), the symlink layer,
/// then the app's layers. Pure planning: nothing is read from the store or written here.
/// </summary>
public static class LayerPlanner
{
    /// <param name="layerKey">The cache key of a layer from what decides it; the planner names what that is for each layer.</param>
    /// <param name="baseImage">The base image the layers go on: its layers count towards the limit, and the symlink layer keeps its root's files.</param>
    public static IReadOnlyList<LayerJob> Plan(ImageRequest request, RuntimeClosure closure, IStoreView store, LayerKeyOf layerKey, IBuildLog log, BaseImage? baseImage = null)
    {
        var groups = LayerGrouping.Group(
            LayerGrouping.WithClosureSizes(closure.Paths),
            closure.Packages.Select(p => p.StorePath).Distinct(StringComparer.Ordinal).ToList(),
            request.Popularity,
            request.LayerBudget);

        var appGroups = AppLayerSplit.Split(request.PublishDirectory, request.AppName ?? string.Empty, log);
        var baseLayers = baseImage?.Layers.Count ?? 0;
        var totalLayers = baseLayers + groups.Count + 1 + appGroups.Count;
        // The fewest layers this package adds: one of Nix's, the symlink layer, the app's.
        var fewestOwn = Math.Min(groups.Count, 1) + 1 + appGroups.Count;
        if (baseLayers > 0 && baseLayers + fewestOwn > ImageDefaults.MaxLayers)
        {
            throw new NixImageException(
                ErrorCodes.LayerLimit,
                $"ContainerBaseImage '{baseImage!.Reference}' has {baseLayers} layers, too many to build on: with the {fewestOwn} this image needs at least, it would have more than the {ImageDefaults.MaxLayers} that Docker accepts, whatever NixLayerBudget is. "
                + "Use a base image with fewer layers (squash it), or build without ContainerBaseImage.");
        }

        if (totalLayers > ImageDefaults.MaxLayers)
        {
            throw new NixImageException(
                ErrorCodes.LayerLimit,
                $"The image would have {totalLayers} layers ({(baseLayers > 0 ? $"{baseLayers} of the base image, " : string.Empty)}{groups.Count} from Nix, 1 of symlinks, {appGroups.Count} of the app), more than the {ImageDefaults.MaxLayers} that Docker accepts. "
                + $"Lower NixLayerBudget to at most {ImageDefaults.MaxLayers - baseLayers - 1 - appGroups.Count}.");
        }

        // The app-host packages' library outputs are there for the app's own ELF files (through their RUNPATH), not for
        // the image root; what the other packages name (openssl's tool) is.
        var topLevel = closure.Packages.Where(p => p.Output == PackageOutput.Default)
            .Select(p => p.StorePath).Distinct(StringComparer.Ordinal).ToList();
        var patches = LinkNativeFiles(request, closure, store, log);
        var jobs = new List<LayerJob>();

        // Store paths never change, so a Nix layer's key is its paths: a hit skips tar and gzip entirely.
        jobs.AddRange(groups.Select(g => new LayerJob(
            "nix: " + string.Join(' ', g.StorePaths.Select(RuntimeClosure.NameOf).Order(StringComparer.Ordinal)),
            () => StoreLayer.Entries(g.StorePaths, store),
            $"rating {g.Rating}, {g.StorePaths.Count} store path(s)",
            () => layerKey("nix", g.StorePaths))));
        if (baseImage is null)
        {
            jobs.Add(new LayerJob(
                "symlinks",
                () => SymlinkLayer.Build(topLevel, UserDatabase.Entries(), store, log),
                "links to the top-level packages, users",
                () => layerKey("symlinks", topLevel)));
        }
        else
        {
            // On a base, the packages' tree goes into a profile folder and the base's root only gains what it lacks;
            // what it lacks is read from its layers, so the key names the base's manifest.
            jobs.Add(new LayerJob(
                "symlinks: " + SymlinkLayer.ProfilePath,
                () => SymlinkLayer.BuildOverBase(topLevel, UserDatabase.EntriesOver(ReadBaseRoot(baseImage, request.User)), store, log),
                "links to the top-level packages, users the base lacks",
                () => layerKey("symlinks-over-base", [.. topLevel, "base " + baseImage.ManifestDigest])));
        }

        // App files change; their key is what a change would show: path, size, time, mode of every entry.
        jobs.AddRange(appGroups.Select(g => new LayerJob(
            g.Description,
            () => AppLayer.Entries(request.PublishDirectory, request.WorkingDirectory, g, patches),
            g.Count > 0 ? $"{g.Count} file(s)" : "the rest of the publish folder",
            () => layerKey("app", AppLayer.Entries(request.PublishDirectory, request.WorkingDirectory, g, patches).Select(Describe)))));
        return jobs;
    }

    /// <summary>
    /// What the base's root holds, every layer checked against its diff ID on the way (as umoci and containerd check
    /// them: wrong diff IDs copied into the image would make it refused), and the app user addable when the image runs as it.
    /// </summary>
    private static BaseRoot ReadBaseRoot(BaseImage baseImage, string? requestedUser)
    {
        BaseRoot root;
        try
        {
            root = BaseRoot.Read(baseImage.Tars, baseImage.Layers.Select(l => l.DiffId.Value).ToList());
        }
        catch (DiffIdMismatchException e)
        {
            throw new NixImageException(
                ErrorCodes.BaseImageUnusable,
                $"ContainerBaseImage '{baseImage.Reference}' cannot be built on: its config's diff_ids do not match its layers ({e.Message}); an image built on it would be refused by runtimes. Push the base image again with a tool that writes its config, or use another one.",
                e);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException)
        {
            throw new NixImageException(ErrorCodes.BaseImageUnusable, $"ContainerBaseImage '{baseImage.Reference}' cannot be built on: a layer of it is not a tar archive this package can read ({e.Message}).", e);
        }

        var user = requestedUser ?? baseImage.Config.User ?? ImageRequestFactory.DefaultUser;
        var userName = user.Split(':')[0];
        if (userName == UserDatabase.AppUser && UserDatabase.WhyAppCannotBeAdded(root) is { } why)
        {
            throw new NixImageException(
                ErrorCodes.BaseImageUnusable,
                $"ContainerBaseImage '{baseImage.Reference}' cannot be built on with ContainerUser '{user}': {why}, so the user {UserDatabase.AppUser} cannot be added to it and the image would name a user it does not have. "
                + $"Set ContainerUser to a numeric id (such as {UserDatabase.AppUid}) or a user the base has, or use a base whose /etc/passwd is a regular file under 1 MiB.");
        }

        return root;
    }

    /// <summary>Patches that make the app's ELF files find the store's loader and libraries.</summary>
    private static IReadOnlyDictionary<string, FilePatch> LinkNativeFiles(ImageRequest request, RuntimeClosure closure, IStoreView store, IBuildLog log)
    {
        if (NativeLinking.PlatformOf(request.Platform.NixSystem) is not { } platform)
        {
            log.Detail($"native: ELF files are not patched for {request.Platform.NixSystem}");
            return new Dictionary<string, FilePatch>();
        }

        var appHost = closure.Packages.Where(p => p.Output == PackageOutput.Library).ToList();
        var linking = new NativeLinking(platform.Machine, platform.Architecture, appHost, closure.Paths.Keys, store, log);
        var prefix = request.WorkingDirectory + "/";
        var entrypoint = request.Entrypoint.Concat(request.Command).FirstOrDefault();
        var relative = entrypoint is not null && entrypoint.StartsWith(prefix, StringComparison.Ordinal) ? entrypoint[prefix.Length..] : null;
        return linking.Plan(request.PublishDirectory, relative);
    }

    /// <summary>One line per entry with everything that decides its bytes in the tar.</summary>
    private static string Describe(LayerEntry entry) => entry switch
    {
        FileEntry f => $"f {f.Path} {f.Mode} {f.Uid}:{f.Gid} {f.Size} {File.GetLastWriteTimeUtc(f.SourcePath).Ticks}{(f.Patch is { } p ? " patch " + p.Fingerprint() : string.Empty)}",
        DirectoryEntry d => $"d {d.Path} {d.Mode} {d.Uid}:{d.Gid}",
        SymlinkEntry l => $"l {l.Path} {l.Target}",
        InlineFileEntry i => $"i {i.Path} {i.Mode} {i.Uid}:{i.Gid} {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(i.Content.Span))}",
        _ => throw new ArgumentException($"Unknown layer entry {entry.GetType().Name}.", nameof(entry)),
    };
}
