using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Nixery.Build.Sbom;

/// <summary>
/// Writes an image's SPDX 2.3 JSON document: the image, the app, its NuGet packages and project references, the base
/// image and every store path as packages; the document <c>DESCRIBES</c> the image, the image <c>CONTAINS</c> what is
/// in it and is a <c>DESCENDANT_OF</c> its base, and <c>DEPENDS_ON</c> relationships follow references. The same
/// contents give the same bytes: the namespace is derived from the image digest, the creation time is the image's
/// created time, and packages and relationships are sorted.
/// </summary>
public static class SpdxWriter
{
    /// <summary>The media type of the document (and the artifact type of its OCI referrer).</summary>
    public const string MediaType = "application/spdx+json";

    public const string SpecVersion = "SPDX-2.3";

    private const string NoAssertion = "NOASSERTION";

    private const string DocumentId = "SPDXRef-DOCUMENT";

    /// <summary>The document's bytes (UTF-8 JSON, ending with a line feed).</summary>
    public static byte[] Write(ImageContents contents)
    {
        var graph = SbomGraph.Build(contents);
        return SbomJson.ToBytes(w => Write(w, graph, contents.Image));
    }

    /// <summary>
    /// The document's namespace: unique per image, derived from its manifest digest (a name-based UUID), under the
    /// <c>https://spdx.org/spdxdocs/</c> prefix the SPDX specification suggests for documents not published elsewhere.
    /// </summary>
    public static string DocumentNamespace(SbomImage image) =>
        "https://spdx.org/spdxdocs/nixery-build/" + IdText(image.Repository) + "-"
        + SbomGraph.NameBasedUuid("spdx:" + image.ManifestDigest.Value).ToString("D");

    private static void Write(Utf8JsonWriter w, SbomGraph graph, SbomImage image)
    {
        var ids = Identifiers(graph);
        var imageId = ids[graph.Image.Ref];

        w.WriteStartObject();
        w.WriteString("spdxVersion", SpecVersion);
        w.WriteString("dataLicense", "CC0-1.0");
        w.WriteString("SPDXID", DocumentId);
        w.WriteString("name", image.Repository + "@" + image.ManifestDigest.Value);
        w.WriteString("documentNamespace", DocumentNamespace(image));
        w.WriteStartObject("creationInfo");
        w.WriteString("created", SbomGraph.Timestamp(image.Created));
        w.WriteStartArray("creators");
        w.WriteStringValue($"Tool: {SbomGraph.ToolName}-{SbomGraph.ToolVersion}");
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteStartArray("documentDescribes");
        w.WriteStringValue(imageId);
        w.WriteEndArray();

        w.WriteStartArray("packages");
        foreach (var component in graph.All.OrderBy(c => ids[c.Ref], StringComparer.Ordinal))
        {
            WritePackage(w, component, ids[component.Ref]);
        }

        w.WriteEndArray();

        var relationships = new SortedSet<(string From, string Type, string To)>
        {
            (DocumentId, "DESCRIBES", imageId),
        };
        foreach (var component in graph.Components)
        {
            var id = ids[component.Ref];
            relationships.Add(component.Kind == SbomComponentKind.BaseImage ? (imageId, "DESCENDANT_OF", id) : (imageId, "CONTAINS", id));
            foreach (var dependency in component.DependsOn)
            {
                relationships.Add((id, "DEPENDS_ON", ids[dependency]));
            }
        }

        var kinds = graph.Components.ToDictionary(c => c.Ref, c => c.Kind, StringComparer.Ordinal);
        foreach (var dependency in graph.Image.DependsOn.Where(d => kinds[d] != SbomComponentKind.BaseImage))
        {
            relationships.Add((imageId, "DEPENDS_ON", ids[dependency]));
        }

        w.WriteStartArray("relationships");
        foreach (var (from, type, to) in relationships)
        {
            w.WriteStartObject();
            w.WriteString("spdxElementId", from);
            w.WriteString("relationshipType", type);
            w.WriteString("relatedSpdxElement", to);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WritePackage(Utf8JsonWriter w, SbomComponent c, string id)
    {
        w.WriteStartObject();
        w.WriteString("SPDXID", id);
        w.WriteString("name", c.Name);
        if (c.Version.Length > 0)
        {
            w.WriteString("versionInfo", c.Version);
        }

        if (c.StorePath is not null)
        {
            // The spec's "path of the directory being treated as a package".
            w.WriteString("packageFileName", c.StorePath);
        }

        w.WriteString("primaryPackagePurpose", c.Kind switch
        {
            SbomComponentKind.Image or SbomComponentKind.BaseImage => "CONTAINER",
            SbomComponentKind.Application => "APPLICATION",
            _ => "LIBRARY",
        });
        w.WriteString("downloadLocation", NoAssertion);
        w.WriteBoolean("filesAnalyzed", false);
        if (c.Sha256 is not null || c.Sha512 is not null)
        {
            w.WriteStartArray("checksums");
            WriteChecksum(w, "SHA256", c.Sha256);
            WriteChecksum(w, "SHA512", c.Sha512);
            w.WriteEndArray();
        }

        w.WriteString("licenseConcluded", NoAssertion);
        w.WriteString("licenseDeclared", c.License ?? NoAssertion);
        w.WriteString("copyrightText", NoAssertion);
        if (c.Purl is not null)
        {
            w.WriteStartArray("externalRefs");
            w.WriteStartObject();
            w.WriteString("referenceCategory", "PACKAGE-MANAGER");
            w.WriteString("referenceType", "purl");
            w.WriteString("referenceLocator", c.Purl);
            w.WriteEndObject();
            w.WriteEndArray();
        }

        if (Comment(c) is { } comment)
        {
            w.WriteString("comment", comment);
        }

        w.WriteEndObject();
    }

    private static void WriteChecksum(Utf8JsonWriter w, string algorithm, string? hex)
    {
        if (hex is null)
        {
            return;
        }

        w.WriteStartObject();
        w.WriteString("algorithm", algorithm);
        w.WriteString("checksumValue", hex);
        w.WriteEndObject();
    }

    private static string? Comment(SbomComponent c) => c.Kind switch
    {
        SbomComponentKind.StorePath => string.Create(CultureInfo.InvariantCulture, $"Nix store path {c.StorePath}; the SHA256 is its NAR hash; NAR size {c.NarSize} bytes")
            + (c.Deriver is null ? "." : $"; built by {c.Deriver}."),
        SbomComponentKind.Image => $"Image manifest {c.Version} for {PlatformText(c.Platform!)}; the SHA256 is the manifest digest.",
        SbomComponentKind.BaseImage => $"Base image manifest {c.Version}; the SHA256 is the manifest digest.",
        SbomComponentKind.Project => "A project reference of the app.",
        _ => null,
    };

    private static string PlatformText(Oci.Platform platform) =>
        platform.Os + "/" + platform.Architecture + (string.IsNullOrEmpty(platform.Variant) ? string.Empty : "/" + platform.Variant);

    /// <summary>An SPDX identifier per component (<c>SPDXRef-</c> and letters, digits, <c>.</c> and <c>-</c>), unique in the document.</summary>
    private static Dictionary<string, string> Identifiers(SbomGraph graph)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        var taken = new HashSet<string>(StringComparer.Ordinal) { DocumentId };
        foreach (var component in graph.All)
        {
            var id = "SPDXRef-" + component.Kind switch
            {
                SbomComponentKind.Image => "Image",
                SbomComponentKind.Application => "App-" + IdText(component.Name),
                SbomComponentKind.BaseImage => "BaseImage",
                SbomComponentKind.StorePath => "Nix-" + IdText(Path.GetFileName(component.StorePath!)),
                SbomComponentKind.NuGetPackage => "NuGet-" + IdText(component.Name) + "-" + IdText(component.Version),
                _ => "Project-" + IdText(component.Name),
            };
            var unique = id;
            for (var n = 2; !taken.Add(unique); n++)
            {
                unique = id + "-" + n.ToString(CultureInfo.InvariantCulture);
            }

            ids[component.Ref] = unique;
        }

        return ids;
    }

    private static string IdText(string text)
    {
        var result = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            result.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : '-');
        }

        return result.Length == 0 ? "unnamed" : result.ToString();
    }
}
