using System.Text.Json;
using Nixery.Build.Oci;

namespace Nixery.Build.Cache;

/// <summary>
/// Reads a built image back from the blob store by its manifest digest: what a push of an up-to-date image sends
/// when no archive was written (ContainerRegistry set, ContainerArchiveOutputPath not). Null when the store no
/// longer holds all of it (pruned, cleared, damaged: sizes checked, and the digests of the documents and small
/// layers): the image must then be built again.
/// </summary>
public static class CachedImage
{
    private const long MaxDocumentSize = 16 * 1024 * 1024;

    public static BuiltImage? Read(BlobStore store, Digest manifestDigest)
    {
        try
        {
            var manifestBytes = Document(store, manifestDigest);
            if (manifestBytes is null || Digest.Of(manifestBytes) != manifestDigest)
            {
                return null;
            }

            using var manifest = JsonDocument.Parse(manifestBytes);
            var root = manifest.RootElement;
            var (configDescriptor, layers) = OciDocuments.Manifest(root);
            var configBytes = Document(store, configDescriptor.Digest);
            if (configBytes is null || Digest.Of(configBytes) != configDescriptor.Digest)
            {
                return null;
            }

            using var config = JsonDocument.Parse(configBytes);
            var diffIds = OciDocuments.DiffIds(config.RootElement);
            var history = config.RootElement.TryGetProperty("history", out var h) ? h.EnumerateArray().Select(e => e.TryGetProperty("created_by", out var c) ? c.GetString() ?? string.Empty : string.Empty).ToList() : [];
            if (diffIds.Count != layers.Count || !layers.All(l => Intact(store, l)))
            {
                return null;
            }

            var manifestDescriptor = new Descriptor(root.GetProperty("mediaType").GetString()!, manifestDigest, manifestBytes.Length);
            return new BuiltImage(
                store.Blob(configDescriptor),
                store.Blob(manifestDescriptor),
                layers.Select((l, i) => new LayerBlob(store.Blob(l), diffIds[i], i < history.Count ? history[i] : string.Empty)).ToList());
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Present with its size; a small blob also by its digest, as the layer cache checks it on every reuse.</summary>
    private static bool Intact(BlobStore store, Descriptor blob)
    {
        if (!store.Contains(blob.Digest, blob.Size))
        {
            return false;
        }

        if (blob.Size > BlobStore.VerifiedOnReuseSize)
        {
            return true;
        }

        return store.DigestOf(blob.Digest) == blob.Digest;
    }

    private static byte[]? Document(BlobStore store, Digest digest)
    {
        var file = new FileInfo(store.PathOf(digest));
        return file.Exists && file.Length <= MaxDocumentSize ? File.ReadAllBytes(file.FullName) : null;
    }
}
