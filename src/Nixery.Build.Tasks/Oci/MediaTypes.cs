namespace Nixery.Build.Oci;

public static class MediaTypes
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

    /// <summary>The empty JSON object <c>{}</c>: an artifact manifest's config (OCI 1.1).</summary>
    public const string OciEmpty = "application/vnd.oci.empty.v1+json";

    public const string CycloneDxJson = "application/vnd.cyclonedx+json";
    public const string SpdxJson = "application/spdx+json";

    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar";

    /// <summary>Every manifest and index type a pull accepts.</summary>
    public static readonly IReadOnlyList<string> Manifests = [OciManifest, DockerManifest, OciIndex, DockerManifestList];

    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;

    /// <summary>How a layer's bytes are compressed, from its media type; null for a type that is not a layer this package reads.</summary>
    public static LayerCompression? CompressionOf(string mediaType) => mediaType switch
    {
        OciLayerGzip or DockerLayerGzip => LayerCompression.Gzip,
        OciLayer or DockerLayer => LayerCompression.None,
        OciLayerZstd => LayerCompression.Zstd,
        _ => null,
    };

    /// <summary>
    /// A base image's layer type in the format of the image built on it: the same bytes, named as that format names
    /// them (Docker has no zstd type; such a layer keeps its OCI type).
    /// </summary>
    public static string LayerIn(string mediaType, bool docker) =>
        CompressionOf(mediaType) is { } compression && (docker ? ImageMediaTypes.Docker : ImageMediaTypes.Oci).Layer(compression) is { } named
            ? named
            : mediaType;
}

/// <summary>The media types of one image format: its index, manifest, config, and a layer of each compression it has a name for.</summary>
public sealed record ImageMediaTypes(string Index, string Manifest, string Config, string UncompressedLayer, string GzipLayer, string? ZstdLayer)
{
    public static readonly ImageMediaTypes Oci = new(MediaTypes.OciIndex, MediaTypes.OciManifest, MediaTypes.OciConfig, MediaTypes.OciLayer, MediaTypes.OciLayerGzip, MediaTypes.OciLayerZstd);

    /// <summary>Docker's v2 schema: no zstd layer type.</summary>
    public static readonly ImageMediaTypes Docker = new(MediaTypes.DockerManifestList, MediaTypes.DockerManifest, MediaTypes.DockerConfig, MediaTypes.DockerLayer, MediaTypes.DockerLayerGzip, ZstdLayer: null);

    /// <summary>The type of a layer compressed so; null when the format has none.</summary>
    public string? Layer(LayerCompression compression) => compression switch
    {
        LayerCompression.None => UncompressedLayer,
        LayerCompression.Gzip => GzipLayer,
        LayerCompression.Zstd => ZstdLayer,
        _ => null,
    };
}

/// <summary>How a layer blob is compressed.</summary>
public enum LayerCompression
{
    None,
    Gzip,
    Zstd,
}
