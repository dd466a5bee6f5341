namespace Nixery.Build.Oci;

/// <summary>
/// A blob of a built image: its descriptor and a way to open its bytes again (as often as a writer
/// or a retrying upload needs), never a one-shot stream.
/// </summary>
public sealed record ImageBlob(Descriptor Descriptor, Func<Stream> Open);

/// <summary>A layer blob with its uncompressed identity and what it holds.</summary>
/// <param name="DiffId">SHA-256 of the uncompressed tar (the blob's descriptor carries the compressed digest).</param>
/// <param name="Description">What the layer holds, as written to the config history.</param>
public sealed record LayerBlob(ImageBlob Blob, Digest DiffId, string Description);

/// <summary>One built image, the value every sink (archive, layout, registry) writes; none rebuilds layers.</summary>
public sealed record BuiltImage(ImageBlob Config, ImageBlob Manifest, IReadOnlyList<LayerBlob> Layers)
{
    /// <summary>The artifacts that describe this image (its SBOMs), each with this image as its subject; none when none were asked for.</summary>
    public IReadOnlyList<Referrer> Referrers { get; init; } = [];

    /// <summary>The manifest's digest: the image's identity.</summary>
    public Digest Digest => Manifest.Descriptor.Digest;
}
