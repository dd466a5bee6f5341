using System.Globalization;
using System.Text.Json;

namespace Nixery.Build.Sbom;

/// <summary>
/// Writes an image's CycloneDX 1.6 JSON document: the image as <c>metadata.component</c>, then the app, its NuGet
/// packages and project references, the base image and every store path as components, and who depends on whom.
/// The same contents give the same bytes: the serial number is derived from the image digest, the timestamp is the
/// image's created time, and components, dependencies and properties are sorted.
/// </summary>
public static class CycloneDxWriter
{
    /// <summary>The media type of the document (and the artifact type of its OCI referrer).</summary>
    public const string MediaType = "application/vnd.cyclonedx+json";

    public const string SpecVersion = "1.6";

    /// <summary>The document's bytes (UTF-8 JSON, ending with a line feed).</summary>
    public static byte[] Write(ImageContents contents)
    {
        var graph = SbomGraph.Build(contents);
        return SbomJson.ToBytes(w => Write(w, graph, contents.Image));
    }

    /// <summary>The document's <c>serialNumber</c>: a name-based UUID of the image's manifest digest.</summary>
    public static string SerialNumber(Oci.Digest manifestDigest) =>
        "urn:uuid:" + SbomGraph.NameBasedUuid("cyclonedx:" + manifestDigest.Value).ToString("D");

    private static void Write(Utf8JsonWriter w, SbomGraph graph, SbomImage image)
    {
        w.WriteStartObject();
        w.WriteString("$schema", "http://cyclonedx.org/schema/bom-1.6.schema.json");
        w.WriteString("bomFormat", "CycloneDX");
        w.WriteString("specVersion", SpecVersion);
        w.WriteString("serialNumber", SerialNumber(image.ManifestDigest));
        w.WriteNumber("version", 1);

        w.WriteStartObject("metadata");
        w.WriteString("timestamp", SbomGraph.Timestamp(image.Created));
        w.WriteStartObject("tools");
        w.WriteStartArray("components");
        w.WriteStartObject();
        w.WriteString("type", "application");
        w.WriteString("name", SbomGraph.ToolName);
        w.WriteString("version", SbomGraph.ToolVersion);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
        w.WritePropertyName("component");
        WriteComponent(w, graph.Image);
        w.WriteEndObject();

        w.WriteStartArray("components");
        foreach (var component in graph.Components)
        {
            WriteComponent(w, component);
        }

        w.WriteEndArray();

        w.WriteStartArray("dependencies");
        foreach (var component in graph.All.OrderBy(c => c.Ref, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("ref", component.Ref);
            w.WriteStartArray("dependsOn");
            foreach (var dependency in component.DependsOn)
            {
                w.WriteStringValue(dependency);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteComponent(Utf8JsonWriter w, SbomComponent c)
    {
        w.WriteStartObject();
        w.WriteString("type", c.Kind switch
        {
            SbomComponentKind.Image or SbomComponentKind.BaseImage => "container",
            SbomComponentKind.Application => "application",
            _ => "library",
        });
        w.WriteString("bom-ref", c.Ref);
        w.WriteString("name", c.Name);
        if (c.Version.Length > 0)
        {
            w.WriteString("version", c.Version);
        }

        if (c.Sha256 is not null || c.Sha512 is not null)
        {
            w.WriteStartArray("hashes");
            WriteHash(w, "SHA-256", c.Sha256);
            WriteHash(w, "SHA-512", c.Sha512);
            w.WriteEndArray();
        }

        if (c.License is not null)
        {
            w.WriteStartArray("licenses");
            w.WriteStartObject();
            w.WriteString("expression", c.License);
            w.WriteEndObject();
            w.WriteEndArray();
        }

        if (c.Purl is not null)
        {
            w.WriteString("purl", c.Purl);
        }

        var properties = Properties(c).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        if (properties.Count > 0)
        {
            w.WriteStartArray("properties");
            foreach (var (name, value) in properties)
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteString("value", value);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    private static void WriteHash(Utf8JsonWriter w, string algorithm, string? hex)
    {
        if (hex is null)
        {
            return;
        }

        w.WriteStartObject();
        w.WriteString("alg", algorithm);
        w.WriteString("content", hex);
        w.WriteEndObject();
    }

    private static IEnumerable<(string Name, string Value)> Properties(SbomComponent c)
    {
        if (c.StorePath is not null)
        {
            yield return ("nix:store_path", c.StorePath);
        }

        if (c.NarSize is { } size)
        {
            yield return ("nix:nar_size", size.ToString(CultureInfo.InvariantCulture));
        }

        if (c.Deriver is not null)
        {
            yield return ("nix:drv_path", c.Deriver);
        }

        if (c.Platform is { } platform)
        {
            yield return ("nixery:image:os", platform.Os);
            yield return ("nixery:image:architecture", platform.Architecture);
            if (!string.IsNullOrEmpty(platform.Variant))
            {
                yield return ("nixery:image:variant", platform.Variant);
            }
        }

        if (c.Kind == SbomComponentKind.Project)
        {
            yield return ("nixery:project_reference", "true");
        }
    }
}
