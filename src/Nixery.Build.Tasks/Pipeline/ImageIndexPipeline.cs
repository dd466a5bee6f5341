using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Sinks;
using Nixery.Build.Streams;

namespace Nixery.Build.Pipeline;

/// <summary>One platform's image of a multi-platform publish, as that RID's own publish and image step left it in the layer cache.</summary>
public sealed record PlatformImage(string RuntimeIdentifier, Platform Platform, Digest ManifestDigest)
{
    /// <summary>From what a RID's image step reported (its NixSystem and NixImageDigest).</summary>
    public static PlatformImage Parse(string runtimeIdentifier, string nixSystem, string manifestDigest) =>
        Digest.TryParse(manifestDigest, out var digest)
            ? new(runtimeIdentifier, Platform.FromNixSystem(nixSystem), digest)
            : throw new NixImageException(ErrorCodes.PlatformImageUnusable, $"The image step for {runtimeIdentifier} reported no image ('{manifestDigest}'). Publish again with -v:normal to see that step.");
}

/// <summary>
/// The multi-platform end of the pipeline (ContainerRuntimeIdentifiers): each RID was published and its image built
/// into the layer cache by <see cref="ImagePipeline"/> with no sink; this joins them into one image index (an OCI
/// index, or a Docker manifest list for Docker-format images) and runs every sink on it, so shared blobs are written
/// and sent once and every tag names the index. Up to date when the request and the platforms' images are.
/// </summary>
public sealed class ImageIndexPipeline(IBuildLog log, TimeProvider? clock = null)
{
    public async Task<ImageBuildResult> RunAsync(ImageRequest request, IReadOnlyList<PlatformImage> platforms, IReadOnlyList<IImageSink> sinks, CancellationToken cancellationToken, byte[]? requestFileBytes = null)
    {
        var cache = new LayerCache(request.LayerCacheDirectory, clock);
        var artifact = Join(request, platforms, cache);
        var freshness = ImageFreshness.Of(request, ImageFreshness.IndexInputs(request, requestFileBytes, artifact.Digest));
        var described = string.Join(", ", platforms.Select(p => $"{p.RuntimeIdentifier} {p.ManifestDigest.Value[..19]}…"));
        try
        {
            return await ImageDelivery.DeliverAsync(
                request,
                artifact,
                freshness,
                sinks,
                cache,
                prune: true,
                nixReused: null,
                log,
                $"Nixery.Build: image index {artifact.Digest} is up to date ({described})",
                () => artifact.IsIndex
                    ? $"Image index {request.Repository}:{string.Join(",", request.Tags)} {artifact.Digest}: {described}"
                    : $"Image {request.Repository}:{string.Join(",", request.Tags)} {artifact.Digest} ({described})",
                cancellationToken);
        }
        catch (DamagedBlobException e)
        {
            // The platform images were built by their own steps, which rebuild what is missing: the next publish repairs it.
            cache.Forget(e.Descriptor.Digest);
            throw new NixImageException(
                ErrorCodes.PlatformImageUnusable,
                $"{e.Message} It is removed from the layer cache {cache.Root}; nothing damaged was written or pushed. Publish again: the platform's image is then built again.",
                e);
        }
    }

    /// <summary>The platforms' images from the cache, joined by an index (kept in the cache too); one platform is its image.</summary>
    internal static ImageArtifact Join(ImageRequest request, IReadOnlyList<PlatformImage> platforms, LayerCache cache)
    {
        var store = cache.Blobs;
        if (platforms.Count == 0)
        {
            throw new NixImageException(ErrorCodes.PlatformImageUnusable, "No platform image was built. Set ContainerRuntimeIdentifiers to the Linux RIDs to build, e.g. linux-x64;linux-arm64.");
        }

        if (platforms.GroupBy(p => p.Platform).FirstOrDefault(g => g.Count() > 1) is { } same)
        {
            throw new NixImageException(
                ErrorCodes.PlatformImageUnusable,
                $"The runtime identifiers {string.Join(" and ", same.Select(p => p.RuntimeIdentifier))} are both {same.Key.Os}/{same.Key.Architecture}: an image index holds one image per platform. Keep one of them in ContainerRuntimeIdentifiers.");
        }

        // Each with the referrers (SBOMs) its image step recorded, when the request asks for them.
        var images = platforms.Select(p => CachedImage.Read(store, p.ManifestDigest, request.SbomMediaTypes.Count == 0 ? null : cache.RecordedReferrers(p.ManifestDigest)) ?? throw new NixImageException(
            ErrorCodes.PlatformImageUnusable,
            $"The {p.RuntimeIdentifier} image {p.ManifestDigest} is no longer whole in the layer cache {store.Root} (pruned or cleared while this publish ran). Publish again.")).ToList();
        if (images.Count == 1)
        {
            return ImageArtifact.Of(images[0]);
        }

        var docker = images.All(i => i.Manifest.Descriptor.MediaType == MediaTypes.DockerManifest);
        var entries = images.Select((image, i) => image.Manifest.Descriptor with { Platform = platforms[i].Platform }).ToList();
        var index = new ImageIndex(entries, docker ? MediaTypes.DockerManifestList : MediaTypes.OciIndex);
        var descriptor = store.AddBytes(index.MediaType, OciJson.Serialize(index));
        var withPlatforms = images.Select((image, i) => image with { Manifest = image.Manifest with { Descriptor = entries[i] } }).ToList();
        return new ImageArtifact(store.Blob(descriptor), withPlatforms);
    }
}
