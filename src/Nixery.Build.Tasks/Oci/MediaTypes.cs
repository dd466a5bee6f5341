namespace Nixery.Build.Oci;

public static class MediaTypes
{
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";

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
    public static string LayerIn(string mediaType, bool docker) => (CompressionOf(mediaType), docker) switch
    {
        (LayerCompression.Gzip, true) => DockerLayerGzip,
        (LayerCompression.Gzip, false) => OciLayerGzip,
        (LayerCompression.None, true) => DockerLayer,
        (LayerCompression.None, false) => OciLayer,
        _ => mediaType,
    };
}

/// <summary>How a layer blob is compressed.</summary>
public enum LayerCompression
{
    None,
    Gzip,
    Zstd,
}
