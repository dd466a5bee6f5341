using System.Text.Json;

namespace Nixery.Build.Oci;

/// <summary>
/// An OCI 1.1 referrer of an image: an artifact manifest whose <c>subject</c> is the image's manifest, with the
/// empty config and one document as its only layer (an SBOM). The image's own digest does not change; registries,
/// layouts and tools find it by its subject.
/// </summary>
/// <param name="Manifest">The artifact manifest, as written and addressed.</param>
/// <param name="Config">The empty config blob (<c>{}</c>).</param>
/// <param name="Document">The document the artifact carries.</param>
/// <param name="ArtifactType">What it carries: the document's media type (<c>application/vnd.cyclonedx+json</c>).</param>
/// <param name="Subject">The digest of the image manifest it refers to.</param>
/// <param name="Annotations">The manifest's annotations, which a list of referrers repeats.</param>
public sealed record Referrer(ImageBlob Manifest, ImageBlob Config, ImageBlob Document, string ArtifactType, Digest Subject, IReadOnlyDictionary<string, string>? Annotations)
{
    /// <summary>The bytes of the empty config.</summary>
    public static ReadOnlySpan<byte> EmptyConfig => "{}"u8;

    /// <summary>The manifest's descriptor with its artifact type, as an index of referrers lists it.</summary>
    public Descriptor Descriptor => Manifest.Descriptor with { ArtifactType = ArtifactType, Annotations = Annotations };

    /// <summary>The blobs the manifest names: the config, then the document.</summary>
    public IReadOnlyList<ImageBlob> Blobs => [Config, Document];

    /// <summary>
    /// The artifact manifest for <paramref name="document"/> about <paramref name="subject"/>: artifactType the
    /// document's media type, the empty config, the document as its one layer, and <c>created</c> as the spec's
    /// annotation (so a referrers list can be read without fetching each manifest).
    /// </summary>
    public static ImageManifest ManifestFor(Descriptor subject, Descriptor config, Descriptor document, DateTimeOffset created) =>
        new(MediaTypes.OciManifest, config, [document])
        {
            ArtifactType = document.MediaType,
            Subject = new Descriptor(subject.MediaType, subject.Digest, subject.Size),
            Annotations = new Dictionary<string, string> { ["org.opencontainers.image.created"] = OciJson.FormatTime(created) },
        };

    /// <summary>
    /// Reads a referrer back from <paramref name="source"/> by its descriptor: the manifest checked against its
    /// digest, then its config and one document looked up.
    /// </summary>
    /// <exception cref="FormatException">A blob is missing, or the manifest is not an artifact manifest with one document and a subject.</exception>
    /// <exception cref="JsonException">The manifest is not JSON.</exception>
    public static Referrer Read(IBlobSource source, Descriptor descriptor)
    {
        var manifest = source.Find(descriptor.Digest, descriptor.Size, MediaTypes.OciManifest) ?? throw new FormatException($"the referrer {descriptor.Digest} is missing");
        byte[] bytes;
        using (var stream = manifest.Open())
        using (var buffer = new MemoryStream())
        {
            stream.CopyTo(buffer);
            bytes = buffer.ToArray();
        }

        if (Digest.Of(bytes) != descriptor.Digest)
        {
            throw new FormatException($"the referrer {descriptor.Digest} does not match its bytes");
        }

        using var json = JsonDocument.Parse(bytes);
        var root = json.RootElement;
        var (config, layers) = OciDocuments.Manifest(root);
        var artifactType = root.TryGetProperty("artifactType", out var a) ? a.GetString() : null;
        if (layers.Count != 1 || artifactType is null || !root.TryGetProperty("subject", out var subject))
        {
            throw new FormatException($"{descriptor.Digest} is not an artifact manifest with one document and a subject");
        }

        ImageBlob Find(Descriptor d) => source.Find(d.Digest, d.Size, d.MediaType) is { } blob ? blob with { Descriptor = d } : throw new FormatException($"the blob {d.Digest} is missing");
        var annotations = root.TryGetProperty("annotations", out var annotated) && annotated.ValueKind == JsonValueKind.Object
            ? annotated.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? string.Empty, StringComparer.Ordinal)
            : null;
        return new Referrer(
            manifest with { Descriptor = new Descriptor(MediaTypes.OciManifest, descriptor.Digest, bytes.Length) },
            Find(config),
            Find(layers[0]),
            artifactType,
            OciDocuments.Descriptor(subject).Digest,
            annotations);
    }
}
