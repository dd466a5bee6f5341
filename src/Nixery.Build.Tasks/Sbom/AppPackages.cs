using System.Text.Json;
using System.Xml;
using Nixery.Build.Diagnostics;
using NuGet.Versioning;

namespace Nixery.Build.Sbom;

/// <summary>
/// The NuGet packages and project references whose files are in a published app, read from the project's
/// <c>obj/project.assets.json</c> for the publish's target framework and runtime identifier.
/// </summary>
/// <param name="Packages">The packages, sorted by id (ordinal).</param>
/// <param name="Projects">The project references, sorted by name (ordinal).</param>
/// <param name="Direct">The ids and names of the listed packages and projects the app itself references, sorted.</param>
/// <remarks>
/// A package is listed when the target gives it files that publish copies: <c>runtime</c>, <c>native</c>,
/// <c>resource</c> or <c>runtimeTargets</c> assets other than NuGet's empty-folder marker <c>_._</c>, or content files
/// copied to the output. Left out, as <c>dotnet publish</c> leaves them out: packages the project references with
/// <c>PrivateAssets="all"</c> (the assets file's <c>suppressParent: All</c>), and the packages only they bring in;
/// analyzers and build-only packages, which have no such files; and Nixery.Build itself. (A <c>Publish="true"</c>
/// that overrides <c>PrivateAssets</c> is not in the assets file, so such a package is left out too.)
/// </remarks>
public sealed record AppPackages(IReadOnlyList<NuGetPackage> Packages, IReadOnlyList<ProjectReference> Projects, IReadOnlyList<string> Direct)
{
    /// <summary>The most the reader reads of an assets file: it is a local file the build wrote, but no reason to read more.</summary>
    public const long MaxAssetsFileBytes = 64L * 1024 * 1024;

    /// <summary>The most the reader reads of a nuspec; a larger one gives no licence.</summary>
    public const long MaxNuspecBytes = 1024 * 1024;

    private const string ThisPackage = "Nixery.Build";

    private static readonly string[] FileGroups = ["runtime", "native", "resource", "runtimeTargets"];

    /// <summary>No packages and no projects (an app without a restore, or an image without an app).</summary>
    public static AppPackages None { get; } = new([], [], []);

    /// <summary>Reads the packages whose files are in the app published for <paramref name="targetFramework"/> and <paramref name="runtimeIdentifier"/>.</summary>
    /// <param name="assetsFile">The project's <c>obj/project.assets.json</c>.</param>
    /// <param name="targetFramework">The publish's target framework as the project names it (<c>net10.0</c>).</param>
    /// <param name="runtimeIdentifier">The publish's runtime identifier (<c>linux-x64</c>), or null for a RID-less publish.</param>
    /// <exception cref="NixImageException">NIXIMG059: the file is missing, too large, not JSON, or not an assets file with that target.</exception>
    public static AppPackages Read(string assetsFile, string targetFramework, string? runtimeIdentifier)
    {
        ArgumentNullException.ThrowIfNull(assetsFile);
        ArgumentNullException.ThrowIfNull(targetFramework);
        try
        {
            using var document = Parse(assetsFile);
            return Read(document.RootElement, targetFramework, string.IsNullOrEmpty(runtimeIdentifier) ? null : runtimeIdentifier);
        }
        catch (AssetsFileException e)
        {
            throw Unreadable(assetsFile, e.Message);
        }
    }

    private static NixImageException Unreadable(string assetsFile, string reason) => new(
        ErrorCodes.AssetsFileUnreadable,
        $"The NuGet assets file {assetsFile} cannot be read for the image's SBOM: {reason}. "
        + "Restore the project again (dotnet restore, or publish without --no-restore) so NuGet writes it anew.");

    private static JsonDocument Parse(string assetsFile)
    {
        FileStream stream;
        try
        {
            stream = new FileStream(assetsFile, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AssetsFileException(e is FileNotFoundException or DirectoryNotFoundException ? "there is no such file" : e.Message);
        }

        using (stream)
        {
            if (stream.Length > MaxAssetsFileBytes)
            {
                throw new AssetsFileException($"it is {stream.Length} bytes, over the {MaxAssetsFileBytes / (1024 * 1024)} MiB this package reads");
            }

            try
            {
                return JsonDocument.Parse(stream, new JsonDocumentOptions { MaxDepth = 64 });
            }
            catch (JsonException e)
            {
                throw new AssetsFileException($"it is not JSON ({e.Message})");
            }
        }
    }

    private static AppPackages Read(JsonElement root, string targetFramework, string? runtimeIdentifier)
    {
        RequireObject(root, "the file");
        var project = Object(root, "project");
        var frameworks = Object(project, "frameworks");
        if (!frameworks.TryGetProperty(targetFramework, out var framework) || framework.ValueKind != JsonValueKind.Object)
        {
            throw new AssetsFileException($"the project was restored for {Names(frameworks)}, not {targetFramework}");
        }

        var targets = Object(root, "targets");
        var (targetKey, target) = FindTarget(targets, frameworks, framework, targetFramework, runtimeIdentifier);
        var libraries = Object(root, "libraries");

        // Every library of the target, by id.
        var entries = new Dictionary<string, Entry>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in target.EnumerateObject())
        {
            var entry = ReadEntry(property, libraries);
            if (!entries.TryAdd(entry.Id, entry))
            {
                throw new AssetsFileException($"the target {targetKey} lists {entry.Id} twice");
            }
        }

        // What the project references itself, and which of those publish leaves out (PrivateAssets="all").
        var direct = DirectReferences(root, framework, targetKey, targetFramework);
        var suppressed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (framework.TryGetProperty("dependencies", out var dependencies) && dependencies.ValueKind == JsonValueKind.Object)
        {
            foreach (var dependency in dependencies.EnumerateObject())
            {
                if (dependency.Value.ValueKind == JsonValueKind.Object
                    && dependency.Value.TryGetProperty("suppressParent", out var suppress)
                    && suppress.ValueKind == JsonValueKind.String
                    && string.Equals(suppress.GetString()?.Trim(), "All", StringComparison.OrdinalIgnoreCase))
                {
                    suppressed.Add(dependency.Name);
                }
            }
        }

        suppressed.Add(ThisPackage);

        // As the SDK does for publish: the packages only PrivateAssets="all" references bring in are left out;
        // a package that another reference brings in too stays.
        var kept = Closure(entries, direct.Where(d => !suppressed.Contains(d)).Concat(entries.Values.Where(e => e.IsProject).Select(e => e.Id)));
        var excluded = Closure(entries, suppressed.Where(entries.ContainsKey));
        excluded.ExceptWith(kept);

        bool Listed(Entry e) => !excluded.Contains(e.Id) && (e.IsProject || (e.HasFiles && !string.Equals(e.Id, ThisPackage, StringComparison.OrdinalIgnoreCase)));

        var listed = entries.Values.Where(Listed).ToDictionary(e => e.Id, StringComparer.OrdinalIgnoreCase);
        IReadOnlyList<string> Edges(IEnumerable<string> from) => ListedThrough(entries, listed, from);

        var packages = listed.Values.Where(e => !e.IsProject)
            .Select(e => new NuGetPackage(e.Id, e.Version, Sha512(root, e), License(root, e), Edges(e.Dependencies)))
            .OrderBy(p => p.Id, StringComparer.Ordinal)
            .ToList();
        var projects = listed.Values.Where(e => e.IsProject)
            .Select(e => new ProjectReference(e.Id, e.Version, Edges(e.Dependencies)))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ToList();
        return new AppPackages(packages, projects, Edges(direct.Where(d => !excluded.Contains(d) && !suppressed.Contains(d))));
    }

    /// <summary>
    /// The target for the framework and RID: keyed by the framework's alias (<c>net10.0/linux-x64</c>), or by its full
    /// name (<c>.NETCoreApp,Version=v10.0/linux-x64</c>) as older NuGet versions wrote it.
    /// </summary>
    private static (string Key, JsonElement Target) FindTarget(JsonElement targets, JsonElement frameworks, JsonElement framework, string targetFramework, string? runtimeIdentifier)
    {
        var suffix = runtimeIdentifier is null ? string.Empty : "/" + runtimeIdentifier;
        var names = new List<string> { targetFramework };
        if (framework.TryGetProperty("framework", out var name) && name.ValueKind == JsonValueKind.String && name.GetString() is { Length: > 0 } n)
        {
            names.Add(n);
        }

        foreach (var candidate in names.Select(n => n + suffix))
        {
            if (targets.TryGetProperty(candidate, out var target))
            {
                RequireObject(target, $"the target {candidate}");
                return (candidate, target);
            }
        }

        // One framework only: its target is the one with this RID, however the framework part is spelt.
        var matching = targets.EnumerateObject()
            .Where(t => runtimeIdentifier is null ? !t.Name.Contains('/', StringComparison.Ordinal) : t.Name.EndsWith(suffix, StringComparison.Ordinal))
            .ToList();
        if (frameworks.EnumerateObject().Count() == 1 && matching.Count == 1)
        {
            RequireObject(matching[0].Value, $"the target {matching[0].Name}");
            return (matching[0].Name, matching[0].Value);
        }

        throw new AssetsFileException(
            $"it has no target {targetFramework}{suffix} (it has {Names(targets)}); "
            + (runtimeIdentifier is null ? "the publish has no runtime identifier" : $"restore for the runtime identifier {runtimeIdentifier}"));
    }

    /// <summary>The ids and names the project references itself, from <c>projectFileDependencyGroups</c> (<c>"Id >= 1.0.0"</c>).</summary>
    private static List<string> DirectReferences(JsonElement root, JsonElement framework, string targetKey, string targetFramework)
    {
        var groups = Object(root, "projectFileDependencyGroups");
        var frameworkPart = targetKey.Split('/')[0];
        JsonElement group = default;
        var found = groups.TryGetProperty(frameworkPart, out group) || groups.TryGetProperty(targetFramework, out group)
            || (framework.TryGetProperty("framework", out var name) && name.ValueKind == JsonValueKind.String && groups.TryGetProperty(name.GetString()!, out group));
        if (!found)
        {
            throw new AssetsFileException($"projectFileDependencyGroups has no group for {targetFramework}");
        }

        if (group.ValueKind != JsonValueKind.Array)
        {
            throw new AssetsFileException($"projectFileDependencyGroups.{frameworkPart} is not an array");
        }

        var direct = new List<string>();
        foreach (var item in group.EnumerateArray())
        {
            var text = item.ValueKind == JsonValueKind.String ? item.GetString()!.Trim() : throw new AssetsFileException($"projectFileDependencyGroups.{frameworkPart} holds a {item.ValueKind}, not a string");
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            direct.Add(space < 0 ? text : text[..space]);
        }

        return direct;
    }

    private static Entry ReadEntry(JsonProperty property, JsonElement libraries)
    {
        var slash = property.Name.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == property.Name.Length - 1)
        {
            throw new AssetsFileException($"the target names a library '{property.Name}', not <id>/<version>");
        }

        var id = property.Name[..slash];
        var versionText = property.Name[(slash + 1)..];
        var value = property.Value;
        RequireObject(value, $"the target's {property.Name}");
        var type = value.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        var isProject = type == "project";
        string version;
        if (isProject)
        {
            version = versionText;
        }
        else if (NuGetVersion.TryParse(versionText, out var parsed))
        {
            version = parsed.ToNormalizedString();
        }
        else
        {
            throw new AssetsFileException($"the version of {property.Name} is not a NuGet version");
        }

        var dependencies = new List<string>();
        if (value.TryGetProperty("dependencies", out var deps))
        {
            RequireObject(deps, $"the dependencies of {property.Name}");
            dependencies.AddRange(deps.EnumerateObject().Select(d => d.Name));
        }

        var hasFiles = FileGroups.Any(g => value.TryGetProperty(g, out var files) && HasRealFile(files, property.Name, g))
            || (value.TryGetProperty("contentFiles", out var content) && CopiesContent(content, property.Name));

        string? libraryPath = null;
        string? nuspec = null;
        string? nupkgHash = null;
        if (!isProject && libraries.TryGetProperty(property.Name, out var library))
        {
            RequireObject(library, $"libraries.{property.Name}");
            if (library.TryGetProperty("path", out var path) && path.ValueKind == JsonValueKind.String)
            {
                libraryPath = path.GetString();
            }

            if (library.TryGetProperty("files", out var files) && files.ValueKind == JsonValueKind.Array)
            {
                var names = files.EnumerateArray().Where(f => f.ValueKind == JsonValueKind.String).Select(f => f.GetString()!)
                    .Where(f => f.IndexOfAny(['/', '\\']) < 0).ToList();
                nuspec = names.FirstOrDefault(f => f.EndsWith(".nuspec", StringComparison.OrdinalIgnoreCase));
                nupkgHash = names.FirstOrDefault(f => f.EndsWith(".nupkg.sha512", StringComparison.OrdinalIgnoreCase));
            }
        }

        return new Entry(id, version, isProject, hasFiles, dependencies, libraryPath, nuspec, nupkgHash);
    }

    private static bool HasRealFile(JsonElement files, string library, string group)
    {
        RequireObject(files, $"the {group} assets of {library}");
        return files.EnumerateObject().Any(f => Path.GetFileName(f.Name) != "_._");
    }

    private static bool CopiesContent(JsonElement files, string library)
    {
        RequireObject(files, $"the contentFiles of {library}");
        return files.EnumerateObject().Any(f =>
            Path.GetFileName(f.Name) != "_._"
            && f.Value.ValueKind == JsonValueKind.Object
            && f.Value.TryGetProperty("copyToOutput", out var copy)
            && copy.ValueKind == JsonValueKind.True);
    }

    /// <summary>
    /// The SHA-512 of the .nupkg, as NuGet wrote it next to the package when it extracted it
    /// (<c>&lt;id&gt;.&lt;version&gt;.nupkg.sha512</c>, base64): the hash of the package file as it was downloaded.
    /// </summary>
    /// <remarks>
    /// Not the assets file's <c>sha512</c>: that is NuGet's content hash, which leaves out the package's signature,
    /// so for a signed package (every package on nuget.org) it is not the hash of any file one can download.
    /// </remarks>
    private static string? Sha512(JsonElement root, Entry entry)
    {
        if (entry.NupkgHash is null || PackageFile(root, entry, entry.NupkgHash) is not { } file || file.Length > 1024)
        {
            return null;
        }

        try
        {
            Span<byte> bytes = stackalloc byte[66];
            return Convert.TryFromBase64String(File.ReadAllText(file.FullName).Trim(), bytes, out var written) && written == 64
                ? Convert.ToHexStringLower(bytes[..written])
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Every library reachable from <paramref name="roots"/> through the target's dependencies.</summary>
    private static HashSet<string> Closure(Dictionary<string, Entry> entries, IEnumerable<string> roots)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var stack = new Stack<string>(roots.Where(entries.ContainsKey));
        while (stack.TryPop(out var id))
        {
            if (seen.Add(id))
            {
                foreach (var dependency in entries[id].Dependencies.Where(entries.ContainsKey))
                {
                    stack.Push(dependency);
                }
            }
        }

        return seen;
    }

    /// <summary>The listed libraries <paramref name="from"/> leads to: itself where listed, else through the unlisted ones it depends on.</summary>
    private static IReadOnlyList<string> ListedThrough(Dictionary<string, Entry> entries, Dictionary<string, Entry> listed, IEnumerable<string> from)
    {
        var result = new SortedSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var stack = new Stack<string>(from);
        while (stack.TryPop(out var id))
        {
            if (!seen.Add(id) || !entries.TryGetValue(id, out var entry))
            {
                continue;
            }

            if (listed.TryGetValue(id, out var hit))
            {
                result.Add(hit.Id);
            }
            else
            {
                foreach (var dependency in entry.Dependencies)
                {
                    stack.Push(dependency);
                }
            }
        }

        return [.. result];
    }

    /// <summary>
    /// The licence expression of the package's nuspec, found in the first package folder that has it; null when there
    /// is none, the nuspec names a licence URL or file only, or it cannot be read (a licence is omitted, never guessed).
    /// </summary>
    private static string? License(JsonElement root, Entry entry) =>
        entry.Nuspec is not null && PackageFile(root, entry, entry.Nuspec) is { } nuspec && nuspec.Length <= MaxNuspecBytes
            ? LicenseExpression(nuspec.FullName)
            : null;

    /// <summary>
    /// A file of the package's folder, in the first package folder that has it (a regular file, not a link); null
    /// when none has it, or when the library's path (which comes from the assets file) leads out of the folder.
    /// </summary>
    private static FileInfo? PackageFile(JsonElement root, Entry entry, string name)
    {
        if (entry.LibraryPath is null || !root.TryGetProperty("packageFolders", out var folders) || folders.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        foreach (var folder in folders.EnumerateObject())
        {
            if (!Path.IsPathFullyQualified(folder.Name))
            {
                continue;
            }

            var packageFolder = Path.GetFullPath(folder.Name);
            var path = Path.GetFullPath(Path.Combine(packageFolder, entry.LibraryPath, name));
            if (!path.StartsWith(Path.TrimEndingDirectorySeparator(packageFolder) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                continue;
            }

            var info = new FileInfo(path);
            if (info.Exists && info.LinkTarget is null)
            {
                return info;
            }
        }

        return null;
    }

    private static string? LicenseExpression(string nuspec)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersInDocument = MaxNuspecBytes,
            IgnoreComments = true,
        };
        try
        {
            using var reader = XmlReader.Create(nuspec, settings);
            while (reader.Read())
            {
                if (reader.NodeType == XmlNodeType.Element && reader.LocalName == "license" && reader.Depth == 2
                    && reader.GetAttribute("type") == "expression")
                {
                    return LicenseExpressions.Clean(reader.ReadElementContentAsString());
                }
            }
        }
        catch (Exception e) when (e is XmlException or IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return null;
    }

    private static JsonElement Object(JsonElement parent, string name)
    {
        if (!parent.TryGetProperty(name, out var value))
        {
            throw new AssetsFileException($"it has no '{name}'");
        }

        RequireObject(value, $"'{name}'");
        return value;
    }

    private static void RequireObject(JsonElement element, string what)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new AssetsFileException($"{what} is a JSON {element.ValueKind.ToString().ToLowerInvariant()}, not an object");
        }
    }

    private static string Names(JsonElement obj)
    {
        var names = obj.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).Take(10).ToList();
        return names.Count == 0 ? "nothing" : string.Join(", ", names);
    }

    private sealed record Entry(string Id, string Version, bool IsProject, bool HasFiles, IReadOnlyList<string> Dependencies, string? LibraryPath, string? Nuspec, string? NupkgHash);

    private sealed class AssetsFileException(string message) : Exception(message);
}
