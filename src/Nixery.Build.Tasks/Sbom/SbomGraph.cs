using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Nixery.Build.Nix;

namespace Nixery.Build.Sbom;

/// <summary>What an SBOM lists, whichever format writes it.</summary>
internal enum SbomComponentKind
{
    Image,
    Application,
    BaseImage,
    StorePath,
    NuGetPackage,
    Project,
}

/// <summary>One thing the documents list, with everything either format writes of it.</summary>
/// <param name="Ref">Its reference, unique in the document: the store path, the purl of a NuGet package, <c>project:</c>, <c>app:</c>, <c>image:</c>, <c>base-image:</c>.</param>
/// <param name="DependsOn">The references of what it depends on, sorted (ordinal), without itself.</param>
internal sealed record SbomComponent(
    string Ref,
    SbomComponentKind Kind,
    string Name,
    string Version,
    string? Purl,
    string? Sha256,
    string? Sha512,
    string? License,
    IReadOnlyList<string> DependsOn)
{
    /// <summary>For a store path: the path, its NAR size and the derivation that built it.</summary>
    public string? StorePath { get; init; }

    public long? NarSize { get; init; }

    public string? Deriver { get; init; }

    /// <summary>For an image: its platform's OCI os, architecture and variant.</summary>
    public Oci.Platform? Platform { get; init; }
}

/// <summary>The components of an image's SBOM, built once from <see cref="ImageContents"/> for both writers.</summary>
/// <param name="Image">The image, the root every other component hangs from.</param>
/// <param name="Components">Everything else, sorted by <see cref="SbomComponent.Ref"/> (ordinal).</param>
internal sealed record SbomGraph(SbomComponent Image, IReadOnlyList<SbomComponent> Components)
{
    /// <summary>The tool name the documents give as their creator.</summary>
    public const string ToolName = "Nixery.Build";

    /// <summary>This assembly's version without build metadata (<c>1.2.3</c>, <c>1.2.3-preview.1</c>).</summary>
    public static string ToolVersion { get; } = ReadToolVersion();

    /// <summary>All components, the image first.</summary>
    public IEnumerable<SbomComponent> All => Components.Prepend(Image);

    public static SbomGraph Build(ImageContents contents)
    {
        ArgumentNullException.ThrowIfNull(contents);
        var components = new List<SbomComponent>();
        var closure = contents.Closure;
        var requested = new Dictionary<string, ResolvedPackage>(StringComparer.Ordinal);
        foreach (var package in closure.Packages)
        {
            requested.TryAdd(package.StorePath, package);
        }

        var licenses = contents.StorePathLicenses ?? new Dictionary<string, string>();
        foreach (var info in closure.Paths.Values)
        {
            var name = NameOf(info, requested.GetValueOrDefault(info.Path));
            var references = info.References
                .Where(r => r != info.Path && closure.Paths.ContainsKey(r))
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
                .ToList();
            components.Add(new SbomComponent(
                info.Path,
                SbomComponentKind.StorePath,
                name.Name,
                name.Version,
                Purl.Nix(name.Name, name.Version),
                info.NarHash?.Hex,
                null,
                LicenseExpressions.Clean(licenses.GetValueOrDefault(info.Path)),
                references)
            {
                StorePath = info.Path,
                NarSize = info.NarSize,
                // Only a derivation's store path: a lock from before SBOMs gives a base name, which names no derivation.
                Deriver = info.Deriver is { } deriver && deriver.StartsWith('/') ? deriver : null,
            });
        }

        var packages = contents.AppPackages;
        var refsById = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var package in packages.Packages)
        {
            refsById.TryAdd(package.Id, Purl.NuGet(package.Id, package.Version));
        }

        foreach (var project in packages.Projects)
        {
            refsById.TryAdd(project.Name, ProjectRef(project.Name));
        }

        List<string> Refs(IEnumerable<string> ids) =>
            [.. ids.Select(id => refsById.GetValueOrDefault(id)).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

        foreach (var package in packages.Packages)
        {
            var purl = Purl.NuGet(package.Id, package.Version);
            components.Add(new SbomComponent(
                purl, SbomComponentKind.NuGetPackage, package.Id, package.Version, purl, null, package.Sha512,
                LicenseExpressions.Clean(package.License), Refs(package.Dependencies).Where(r => r != purl).ToList()));
        }

        foreach (var project in packages.Projects)
        {
            var reference = ProjectRef(project.Name);
            components.Add(new SbomComponent(
                reference, SbomComponentKind.Project, project.Name, project.Version, null, null, null, null,
                Refs(project.Dependencies).Where(r => r != reference).ToList()));
        }

        var rootDependencies = new List<string>();
        if (contents.App is { } app)
        {
            var reference = "app:" + app.Name;
            components.Add(new SbomComponent(reference, SbomComponentKind.Application, app.Name, app.Version, null, null, null, null, Refs(packages.Direct)));
            rootDependencies.Add(reference);
        }
        else
        {
            // No app: whatever the packages are, they still hang from the image.
            rootDependencies.AddRange(Refs(packages.Direct));
        }

        if (contents.BaseImage is { } baseImage)
        {
            var (repository, tag) = Purl.SplitReference(baseImage.Reference);
            var reference = "base-image:" + repository + "@" + baseImage.ManifestDigest;
            components.Add(new SbomComponent(
                reference, SbomComponentKind.BaseImage, repository, baseImage.ManifestDigest.Value,
                Purl.Oci(repository, baseImage.ManifestDigest.Value, contents.Image.Platform.Architecture, tag),
                baseImage.ManifestDigest.Hex, null, null, []));
            rootDependencies.Add(reference);
        }

        // The image depends on the packages that were asked for, and on any store path nothing else leads to.
        rootDependencies.AddRange(closure.Packages.Select(p => p.StorePath).Where(closure.Paths.ContainsKey));
        var reached = Reachable(components, rootDependencies);
        rootDependencies.AddRange(components.Where(c => c.Kind == SbomComponentKind.StorePath && !reached.Contains(c.Ref)).Select(c => c.Ref));

        var imageInfo = contents.Image;
        var image = new SbomComponent(
            "image:" + imageInfo.Repository + "@" + imageInfo.ManifestDigest,
            SbomComponentKind.Image,
            imageInfo.Repository,
            imageInfo.ManifestDigest.Value,
            Purl.Oci(imageInfo.Repository, imageInfo.ManifestDigest.Value, imageInfo.Platform.Architecture),
            imageInfo.ManifestDigest.Hex,
            null,
            null,
            [.. rootDependencies.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)])
        {
            Platform = imageInfo.Platform,
        };

        var sorted = components.OrderBy(c => c.Ref, StringComparer.Ordinal).ToList();
        for (var i = 1; i < sorted.Count; i++)
        {
            if (sorted[i].Ref == sorted[i - 1].Ref)
            {
                throw new ArgumentException($"Two components of the SBOM have the reference '{sorted[i].Ref}'.", nameof(contents));
            }
        }

        return new SbomGraph(image, sorted);
    }

    /// <summary>A name-based (version 5, SHA-1) UUID of <paramref name="name"/> in the URL namespace (RFC 9562): the same name, the same UUID.</summary>
    public static Guid NameBasedUuid(string name)
    {
        // The URL namespace, 6ba7b811-9dad-11d1-80b4-00c04fd430c8, in network byte order.
        ReadOnlySpan<byte> urlNamespace = [0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8];
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var input = new byte[urlNamespace.Length + nameBytes.Length];
        urlNamespace.CopyTo(input);
        nameBytes.CopyTo(input.AsSpan(urlNamespace.Length));

        // Version 5 UUIDs are defined on SHA-1; it names, it does not secure anything here.
#pragma warning disable CA5350
        var hash = SHA1.HashData(input);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }

    /// <summary>The documents' timestamp: UTC to the second, <c>2024-01-02T03:04:05Z</c>, as both specs ask.</summary>
    public static string Timestamp(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string ProjectRef(string name) => "project:" + name;

    /// <summary>
    /// The name and version of a store path: from the derivation that built it when Nix said which, else from the
    /// store name (<c>jq-1.7.1</c>), without the output's suffix when it is a requested package's (<c>-bin</c>).
    /// </summary>
    private static DerivationName NameOf(StorePathInfo info, ResolvedPackage? requested)
    {
        if (DerivationName.FromDeriver(info.Deriver) is { } fromDeriver)
        {
            return fromDeriver;
        }

        var storeName = RuntimeClosure.NameOf(info.Path);
        if (requested is { OutputName: not "out" } && storeName.EndsWith("-" + requested.OutputName, StringComparison.Ordinal))
        {
            storeName = storeName[..^(requested.OutputName.Length + 1)];
        }

        return DerivationName.Parse(storeName);
    }

    private static HashSet<string> Reachable(List<SbomComponent> components, IEnumerable<string> roots)
    {
        var byRef = components.ToDictionary(c => c.Ref, StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>(roots);
        while (stack.TryPop(out var reference))
        {
            if (seen.Add(reference) && byRef.TryGetValue(reference, out var component))
            {
                foreach (var dependency in component.DependsOn)
                {
                    stack.Push(dependency);
                }
            }
        }

        return seen;
    }

    private static string ReadToolVersion()
    {
        var version = typeof(SbomGraph).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(SbomGraph).Assembly.GetName().Version?.ToString()
            ?? "0.0.0";
        var plus = version.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? version : version[..plus];
    }
}
