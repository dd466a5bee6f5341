using Nixery.Build.Cache;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Sbom;
using Nixery.Build.Settings;
using Nixery.Build.Sources;

namespace Nixery.Build.Image;

/// <summary>
/// The built image together with what it was made of: the closure it holds, the app's NuGet packages, its base,
/// written as the SBOM documents the request asks for (NixImageSbom) and attached as OCI 1.1 referrers, one artifact
/// manifest per document with the image as its subject. The image's own bytes and digest do not change. Everything
/// lands in the blob store, and the layer cache records the referrers beside the image, so an up-to-date build and
/// the index step have them without the closure.
/// </summary>
public static class ImageSboms
{
    /// <summary>The image with its referrers (none when the request asks for no SBOM), their blobs added to <paramref name="cache"/>.</summary>
    public static BuiltImage Attach(ImageRequest request, BuiltImage image, RuntimeClosure closure, BaseImage? baseImage, LayerCache cache)
    {
        if (request.SbomMediaTypes.Count == 0)
        {
            return image;
        }

        var contents = Contents(request, image.Digest, closure, baseImage);
        var store = cache.Blobs;
        var config = store.AddBytes(MediaTypes.OciEmpty, Referrer.EmptyConfig.ToArray());
        var referrers = request.SbomMediaTypes.Select(mediaType =>
        {
            var document = store.AddBytes(mediaType, mediaType == MediaTypes.CycloneDxJson ? CycloneDxWriter.Write(contents) : SpdxWriter.Write(contents));
            var artifact = Referrer.ManifestFor(image.Manifest.Descriptor, config, document, request.Created);
            var manifest = store.AddBytes(MediaTypes.OciManifest, OciJson.Serialize(artifact));
            return new Referrer(store.Blob(manifest), store.Blob(config), store.Blob(document), mediaType, image.Digest, artifact.Annotations);
        }).ToList();
        cache.RecordReferrers(image.Digest, referrers.Select(r => r.Descriptor).ToList());
        return image with { Referrers = referrers };
    }

    /// <summary>
    /// An image found up to date, read back from the layer cache once, with the referrers the cache recorded for it
    /// when the request asks for SBOMs; null when the image or its referrers are not all there, or they are not the
    /// documents the request asks for (then the image is built again).
    /// </summary>
    public static BuiltImage? ReadCached(ImageRequest request, Digest manifestDigest, LayerCache cache)
    {
        if (request.SbomMediaTypes.Count == 0)
        {
            return CachedImage.Read(cache.Blobs, manifestDigest);
        }

        var recorded = cache.RecordedReferrers(manifestDigest);
        return recorded is not null && recorded.Select(r => r.ArtifactType).SequenceEqual(request.SbomMediaTypes)
            ? CachedImage.Read(cache.Blobs, manifestDigest, recorded)
            : null;
    }

    /// <summary>What the image holds, as its documents say it.</summary>
    public static ImageContents Contents(ImageRequest request, Digest manifestDigest, RuntimeClosure closure, BaseImage? baseImage)
    {
        var packages = request.AssetsFile is { } assets && request.TargetFramework is { } framework
            ? AppPackages.Read(assets, framework, request.RuntimeIdentifier)
            : AppPackages.None;
        // nixpkgs' meta.license of each requested package (in the closure and the lock alike), for its store path.
        var licences = closure.Packages
            .Where(p => p.License is not null)
            .GroupBy(p => p.StorePath, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.First().License!, StringComparer.Ordinal);
        return new ImageContents(
            new SbomImage(request.Repository, manifestDigest, request.Platform, request.Created),
            closure,
            string.IsNullOrEmpty(request.AppName) ? null : new SbomApp(request.AppName, request.AppVersion ?? string.Empty),
            packages,
            baseImage is null ? null : new SbomBaseImage(WithoutDigest(baseImage.Reference), baseImage.ManifestDigest),
            licences);
    }

    private static string WithoutDigest(string reference) =>
        reference.IndexOf('@', StringComparison.Ordinal) is var at and >= 0 ? reference[..at] : reference;
}
