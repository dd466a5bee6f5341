namespace Nixery.Build.Oci;

/// <summary>
/// What the tags name and every sink writes: one image (the root is its manifest), or an image index with one image
/// per platform (the root is the index, an OCI index or a Docker manifest list). Blobs the images share are one blob.
/// </summary>
public sealed record ImageArtifact(ImageBlob Root, IReadOnlyList<BuiltImage> Images)
{
    public static ImageArtifact Of(BuiltImage image) => new(image.Manifest, [image]);

    /// <summary>The root's digest: what a tag points at.</summary>
    public Digest Digest => Root.Descriptor.Digest;

    public bool IsIndex => Root.Descriptor.Digest != Images[0].Digest;

    /// <summary>Every layer and config of every image, each once, layers first (in image order).</summary>
    public IReadOnlyList<ImageBlob> ContentBlobs =>
        Images.SelectMany(i => i.Layers.Select(l => l.Blob)).Concat(Images.Select(i => i.Config)).DistinctBy(b => b.Descriptor.Digest).ToList();

    /// <summary>The platform manifests an index names; none for a single image (its manifest is the root).</summary>
    public IReadOnlyList<ImageBlob> PlatformManifests => IsIndex ? Images.Select(i => i.Manifest).DistinctBy(b => b.Descriptor.Digest).ToList() : [];

    /// <summary>Every image's referrers (its SBOMs), each once.</summary>
    public IReadOnlyList<Referrer> Referrers => Images.SelectMany(i => i.Referrers).DistinctBy(r => r.Manifest.Descriptor.Digest).ToList();

    /// <summary>The blobs of every referrer: configs and documents first, then their manifests, each once.</summary>
    public IReadOnlyList<ImageBlob> ReferrerBlobs =>
        [.. Referrers.SelectMany(r => r.Blobs).Concat(Referrers.Select(r => r.Manifest)).DistinctBy(b => b.Descriptor.Digest)];

    /// <summary>Every blob once: content, then the platform manifests, then the root.</summary>
    public IReadOnlyList<ImageBlob> AllBlobs => [.. ContentBlobs.Concat(PlatformManifests).Append(Root).DistinctBy(b => b.Descriptor.Digest)];
}
