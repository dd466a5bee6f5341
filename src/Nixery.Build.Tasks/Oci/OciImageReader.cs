using System.Text.Json;

namespace Nixery.Build.Oci;

/// <summary>Where the blobs of an image are kept: the layer cache, an archive's members, a layout directory.</summary>
public interface IBlobSource
{
    /// <summary>
    /// The blob with this digest, openable as often as needed, described with <paramref name="mediaType"/>; null when
    /// it is absent, or of another size than <paramref name="size"/> when that is given.
    /// </summary>
    ImageBlob? Find(Digest digest, long? size, string mediaType);
}

/// <summary>
/// The one reader of built images: from a manifest digest to a <see cref="BuiltImage"/> whose blobs open onto
/// <see cref="IBlobSource"/>, whatever keeps them (the layer cache, an archive). The manifest and config are read
/// (checked against their digests); layers are only looked up, and a sink checks their bytes as it copies them.
/// </summary>
public static class OciImageReader
{
    private const long MaxDocumentSize = 16 * 1024 * 1024;

    /// <exception cref="FormatException">A blob is missing, of the wrong size or digest, or a document is not what it should be.</exception>
    /// <exception cref="JsonException">A document is not JSON.</exception>
    public static BuiltImage Read(IBlobSource source, Digest manifestDigest, string? manifestMediaType = null)
    {
        var manifestBytes = Document(source, manifestDigest, manifestMediaType ?? MediaTypes.OciManifest);
        using var manifest = JsonDocument.Parse(manifestBytes);
        var root = manifest.RootElement;
        var mediaType = root.TryGetProperty("mediaType", out var m) && m.GetString() is { } declared ? declared : manifestMediaType ?? MediaTypes.OciManifest;
        var (configDescriptor, layers) = OciDocuments.Manifest(root);

        var configBytes = Document(source, configDescriptor.Digest, configDescriptor.MediaType, configDescriptor.Size);
        using var config = JsonDocument.Parse(configBytes);
        var diffIds = OciDocuments.DiffIds(config.RootElement);
        if (diffIds.Count != layers.Count)
        {
            throw new FormatException($"the config names {diffIds.Count} diff IDs for {layers.Count} layers");
        }

        var history = config.RootElement.TryGetProperty("history", out var h) && h.ValueKind == JsonValueKind.Array
            ? h.EnumerateArray().Select(e => e.TryGetProperty("created_by", out var c) ? c.GetString() ?? string.Empty : string.Empty).ToList()
            : [];
        var manifestDescriptor = new Descriptor(mediaType, manifestDigest, manifestBytes.Length);
        return new BuiltImage(
            Blob(source, configDescriptor),
            Blob(source, manifestDescriptor),
            layers.Select((l, i) => new LayerBlob(Blob(source, l), diffIds[i], i < history.Count ? history[i] : string.Empty)).ToList());
    }

    /// <summary>
    /// Reads a referrer back by its descriptor: the artifact manifest whole and checked against its digest (as a
    /// manifest is), then its config and one document looked up.
    /// </summary>
    /// <exception cref="FormatException">A blob is missing, or the manifest is not an artifact manifest with one document and a subject.</exception>
    /// <exception cref="JsonException">The manifest is not JSON.</exception>
    public static Referrer ReadReferrer(IBlobSource source, Descriptor descriptor)
    {
        var bytes = Document(source, descriptor.Digest, MediaTypes.OciManifest, descriptor.Size);
        using var json = JsonDocument.Parse(bytes);
        var root = json.RootElement;
        var (config, layers) = OciDocuments.Manifest(root);
        var artifactType = root.TryGetProperty("artifactType", out var a) ? a.GetString() : null;
        if (layers.Count != 1 || artifactType is null || !root.TryGetProperty("subject", out var subject))
        {
            throw new FormatException($"{descriptor.Digest} is not an artifact manifest with one document and a subject");
        }

        return new Referrer(
            Blob(source, new Descriptor(MediaTypes.OciManifest, descriptor.Digest, bytes.Length)),
            Blob(source, config),
            Blob(source, layers[0]),
            artifactType,
            OciDocuments.Descriptor(subject).Digest,
            OciDocuments.Annotations(root));
    }

    private static ImageBlob Blob(IBlobSource source, Descriptor descriptor) =>
        source.Find(descriptor.Digest, descriptor.Size, descriptor.MediaType) is { } blob
            ? blob with { Descriptor = descriptor }
            : throw new FormatException($"the blob {descriptor.Digest} ({descriptor.Size} bytes) is missing");

    /// <summary>A manifest or config, whole and checked against its digest.</summary>
    private static byte[] Document(IBlobSource source, Digest digest, string mediaType, long? size = null)
    {
        // A manifest's size is not known before it is read (the layer cache names it by digest only).
        var blob = source.Find(digest, size, mediaType) ?? throw new FormatException($"the blob {digest} is missing");
        using var stream = blob.Open();
        if (stream.CanSeek && stream.Length > MaxDocumentSize)
        {
            throw new FormatException($"{digest} is too large for a JSON document");
        }

        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        var bytes = buffer.ToArray();
        if (Digest.Of(bytes) != digest)
        {
            throw new FormatException($"{digest} does not match its bytes");
        }

        return bytes;
    }
}
