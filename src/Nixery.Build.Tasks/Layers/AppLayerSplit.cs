using System.Text.Json;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Layers;

/// <summary>
/// Some files of the publish folder, by path relative to it ('/'-separated). The catch-all group holds every
/// file no other group claims, and every folder; the others hold their files and the folders above them.
/// </summary>
public sealed class AppFileGroup
{
    private readonly HashSet<string>? _files;
    private readonly HashSet<string>? _folders;
    private readonly HashSet<string>? _claimedElsewhere;

    private AppFileGroup(string description, HashSet<string>? files, HashSet<string>? claimedElsewhere)
    {
        Description = description;
        _files = files;
        _claimedElsewhere = claimedElsewhere;
        if (files is not null)
        {
            _folders = new HashSet<string>(StringComparer.Ordinal);
            foreach (var file in files)
            {
                for (var slash = file.LastIndexOf('/'); slash > 0; slash = file.LastIndexOf('/', slash - 1))
                {
                    _folders.Add(file[..slash]);
                }
            }
        }
    }

    /// <summary>The whole publish folder in one group.</summary>
    public static AppFileGroup Everything { get; } = new("app", null, null);

    /// <summary>What the layer holds, for the config history (<c>app: NuGet packages</c>).</summary>
    public string Description { get; }

    public int Count => _files?.Count ?? 0;

    public static AppFileGroup Of(string description, IEnumerable<string> files) =>
        new(description, new HashSet<string>(files, StringComparer.Ordinal), null);

    public static AppFileGroup Rest(string description, IEnumerable<AppFileGroup> others) =>
        new(description, null, new HashSet<string>(others.SelectMany(o => o._files ?? []), StringComparer.Ordinal));

    public bool Holds(string relativePath) =>
        _files?.Contains(relativePath) ?? _claimedElsewhere?.Contains(relativePath) != true;

    public bool HoldsFolder(string relativePath) => _folders?.Contains(relativePath) ?? true;
}

/// <summary>
/// Splits the publish folder into app layers from the bottom up, so that a change to the app's own code
/// changes only the top layer: NuGet package assets (the files <c>&lt;app&gt;.deps.json</c> attributes to
/// <c>package</c> libraries), then project-reference assemblies, then everything else (the app's assembly,
/// deps.json, runtimeconfig.json, content). Empty groups make no layer.
/// </summary>
public static class AppLayerSplit
{
    private static readonly string[] AssetKinds = ["runtime", "native", "resources"];
    private static readonly string[] CompanionExtensions = [".pdb", ".xml"];

    public static IReadOnlyList<AppFileGroup> Split(string publishDirectory, string appName, IBuildLog log)
    {
        var depsFile = Path.Combine(publishDirectory, appName + ".deps.json");
        if (!File.Exists(depsFile))
        {
            log.Detail($"app layers: no {appName}.deps.json in the publish folder; the app is one layer");
            return [AppFileGroup.Everything];
        }

        Dictionary<string, HashSet<string>> byKind;
        try
        {
            byKind = ReadAssets(File.ReadAllBytes(depsFile), appName);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            log.Warning(
                ErrorCodes.DepsFileUnreadable,
                $"{appName}.deps.json could not be read ({e.Message}); the whole app goes into one layer. Check the publish output.");
            return [AppFileGroup.Everything];
        }

        var present = Directory.EnumerateFiles(publishDirectory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(publishDirectory, f).Replace(Path.DirectorySeparatorChar, '/'))
            .ToHashSet(StringComparer.Ordinal);
        var packages = AppFileGroup.Of("app: NuGet packages", WithCompanions(byKind["package"], present));
        var projects = AppFileGroup.Of("app: project references", WithCompanions(byKind["project"], present).Where(f => !packages.Holds(f)));
        var app = AppFileGroup.Rest("app", [packages, projects]);
        return new[] { packages, projects }.Where(g => g.Count > 0).Append(app).ToList();
    }

    /// <summary>
    /// Publish-relative paths of the assets of <c>package</c> and <c>project</c> libraries (the app's own
    /// project excluded) in the deps file's runtime target.
    /// </summary>
    internal static Dictionary<string, HashSet<string>> ReadAssets(ReadOnlySpan<byte> json, string appName)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        var targetName = root.GetProperty("runtimeTarget").GetProperty("name").GetString()!;
        var target = root.GetProperty("targets").GetProperty(targetName);
        var libraries = root.GetProperty("libraries");
        var result = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal)
        {
            ["package"] = new(StringComparer.Ordinal),
            ["project"] = new(StringComparer.Ordinal),
        };

        foreach (var library in target.EnumerateObject())
        {
            var type = libraries.TryGetProperty(library.Name, out var info) && info.TryGetProperty("type", out var t) ? t.GetString() : null;
            var name = library.Name[..Math.Max(0, library.Name.IndexOf('/', StringComparison.Ordinal))];
            if (type is null || !result.TryGetValue(type, out var files) || (type == "project" && name == appName))
            {
                continue;
            }

            foreach (var kind in AssetKinds)
            {
                if (!library.Value.TryGetProperty(kind, out var assets))
                {
                    continue;
                }

                foreach (var asset in assets.EnumerateObject())
                {
                    var fileName = asset.Name[(asset.Name.LastIndexOf('/') + 1)..];
                    files.Add(kind == "resources" && asset.Value.TryGetProperty("locale", out var locale)
                        ? locale.GetString() + "/" + fileName
                        : fileName);
                }
            }

            // A portable publish keeps RID-specific assets under runtimes/<rid>/..., at the path the key gives.
            if (library.Value.TryGetProperty("runtimeTargets", out var runtimeTargets))
            {
                foreach (var asset in runtimeTargets.EnumerateObject())
                {
                    files.Add(asset.Name);
                }
            }
        }

        return result;
    }

    /// <summary>The assets that exist, plus their .pdb/.xml beside them.</summary>
    private static IEnumerable<string> WithCompanions(IEnumerable<string> assets, HashSet<string> present)
    {
        foreach (var asset in assets.Where(present.Contains))
        {
            yield return asset;
            var stem = asset[..^Path.GetExtension(asset).Length];
            foreach (var extension in CompanionExtensions)
            {
                if (present.Contains(stem + extension) && stem + extension != asset)
                {
                    yield return stem + extension;
                }
            }
        }
    }
}
