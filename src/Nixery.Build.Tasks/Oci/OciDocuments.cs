using System.Text.Json;

namespace Nixery.Build.Oci;

/// <summary>
/// Reads back the parts of OCI documents that the readers of a built image need (from an archive or from the
/// layer cache): descriptors, a manifest's config and layers, a config's diff IDs. Missing members throw
/// (<see cref="KeyNotFoundException"/>, <see cref="InvalidOperationException"/>, <see cref="FormatException"/>).
/// </summary>
public static class OciDocuments
{
    /// <summary>A descriptor whose members are checked: a media type, a sha256 digest (so it is safe as a file name or URL), a size of 0 or more.</summary>
    public static Descriptor Descriptor(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("a descriptor is not a JSON object");
        }

        var mediaType = element.GetProperty("mediaType").GetString() ?? throw new FormatException("a descriptor's mediaType is null");
        var digest = Digest.Parse(element.GetProperty("digest").GetString() ?? throw new FormatException("a descriptor's digest is null"));
        var size = element.GetProperty("size").GetInt64();
        var artifactType = element.TryGetProperty("artifactType", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        return size < 0 ? throw new FormatException($"the descriptor of {digest} has the size {size}") : new(mediaType, digest, size) { ArtifactType = artifactType };
    }

    /// <summary>An index's entry: a descriptor with its annotations (a tag's name in a layout, a referrer's created time) kept.</summary>
    public static Descriptor IndexEntry(JsonElement element) => Descriptor(element) with { Annotations = Annotations(element) };

    /// <summary>Every entry an index (an <c>index.json</c>, a referrers list) names, with annotations.</summary>
    public static IReadOnlyList<Descriptor> IndexEntries(JsonElement index) => index.GetProperty("manifests").EnumerateArray().Select(IndexEntry).ToList();

    /// <summary>The <c>annotations</c> of a descriptor or manifest; null when it has none.</summary>
    public static IReadOnlyDictionary<string, string>? Annotations(JsonElement owner) =>
        owner.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object
            ? a.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? string.Empty, StringComparer.Ordinal)
            : null;

    public static (Descriptor Config, IReadOnlyList<Descriptor> Layers) Manifest(JsonElement manifest)
    {
        if (manifest.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("a manifest is not a JSON object");
        }

        return (Descriptor(manifest.GetProperty("config")), manifest.GetProperty("layers").EnumerateArray().Select(Descriptor).ToList());
    }

    public static IReadOnlyList<Digest> DiffIds(JsonElement config) =>
        config.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray().Select(d => Digest.Parse(d.GetString()!)).ToList();
}
