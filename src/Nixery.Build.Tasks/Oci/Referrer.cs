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
}
