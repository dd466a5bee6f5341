using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.LayerFormat;
using Nixery.Build.Oci;
using Nixery.Build.Registry;
using Nixery.Build.Settings;

namespace Nixery.Build.Sources;

/// <summary>
/// A base image, whole in the layer cache, as the image built on it uses it: what ContainerBaseImage resolved to,
/// its configuration, and its layers (typed in the format of the image being built; the bytes are the base's).
/// </summary>
public sealed record BaseImage(string Reference, Digest ResolvedDigest, Digest ManifestDigest, BaseImageConfig Config, IReadOnlyList<LayerBlob> Layers)
{
    /// <summary>
    /// Each layer's bytes, bottom first, and whether they are gzip-compressed (else a plain tar): a zstd layer is opened
    /// through its decoder, so it is read as a plain tar (its blob stays as it is in the image).
    /// </summary>
    public IReadOnlyList<(Func<Stream> Open, bool Gzip)> Tars =>
        Layers.Select(l => MediaTypes.CompressionOf(l.Blob.Descriptor.MediaType) switch
        {
            LayerCompression.Zstd => ((Func<Stream>)(() => new ZstdReadStream(l.Blob.Open())), false),
            var compression => (l.Blob.Open, compression == LayerCompression.Gzip),
        }).ToList();
}

/// <summary>Where the pipeline gets a request's base image from: its registry (<see cref="RegistryBaseImageSource"/>), or a fake in tests.</summary>
public interface IBaseImageSource
{
    Task<BaseImage> GetAsync(ImageRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// Pulls ContainerBaseImage into the layer cache (<see cref="ImagePuller"/>: nothing is fetched that the cache holds)
/// and notes in the push memory that its repository holds its layers, so that a push to the same registry mounts them
/// instead of uploading them.
/// </summary>
public sealed class RegistryBaseImageSource : IBaseImageSource
{
    private readonly IBuildLog _log;
    private readonly PullSettings _settings;
    private readonly Func<string, string?> _environment;
    private readonly HttpMessageHandler? _handler;

    /// <param name="handler">The HTTP stack; null: the real one.</param>
    public RegistryBaseImageSource(IBuildLog log, PullSettings settings, Func<string, string?> environment, HttpMessageHandler? handler = null)
    {
        _log = log;
        _settings = settings;
        _environment = environment;
        _handler = handler;
    }

    public async Task<BaseImage> GetAsync(ImageRequest request, CancellationToken cancellationToken)
    {
        var reference = ImageReference.Parse(request.BaseImage ?? throw new InvalidOperationException("The request has no base image."));
        var cache = new LayerCache(request.LayerCacheDirectory);
        var pull = new PullRequest
        {
            Image = reference,
            Platform = request.Platform,
            Insecure = InsecureRegistries.Parse(_environment(InsecureRegistries.EnvironmentVariable), _settings.InsecureRegistries),
            Timeout = RegistrySettings.TimeoutOf(_settings.Timeout),
            Environment = _environment,
        };
        var pulled = await new ImagePuller(_log, _handler).PullAsync(pull, new StoredBlobs(cache.Blobs), cancellationToken);
        var image = Describe(reference, pulled, request.Format);
        if (pulled.Downloaded > 0)
        {
            // What the layer cache held already was recorded when it was downloaded: a warm build rewrites nothing.
            Remember(request.LayerCacheDirectory, reference, image);
        }

        return image;
    }

    /// <summary>The pulled base as the pipeline uses it; the config must name one diff ID per layer.</summary>
    internal static BaseImage Describe(ImageReference reference, PulledImage pulled, ImageFormat format)
    {
        var config = pulled.Settings;
        if (config.DiffIds.Count != pulled.Layers.Count)
        {
            throw Unusable(reference, $"its config names {config.DiffIds.Count} layer(s) and its manifest {pulled.Layers.Count}.");
        }

        var docker = format == ImageFormat.Docker;
        if (docker && pulled.Layers.FirstOrDefault(l => MediaTypes.CompressionOf(l.Descriptor.MediaType) == LayerCompression.Zstd) is { } zstd)
        {
            throw new NixImageException(
                ErrorCodes.LayerCompressionNotInFormat,
                $"ContainerBaseImage '{reference}' has zstd layers ({zstd.Descriptor.Digest}), but ContainerImageFormat Docker has no media type for them (Docker's v2 schema knows only gzip and plain tar). Use ContainerImageFormat=OCI (the default), or a base image with gzip layers.");
        }

        var layers = pulled.Layers.Select((blob, i) => new LayerBlob(
            blob with { Descriptor = blob.Descriptor with { MediaType = MediaTypes.LayerIn(blob.Descriptor.MediaType, docker) } },
            config.DiffIds[i],
            $"base: {reference}")).ToList();
        return new BaseImage(reference.ToString(), pulled.ResolvedDigest, pulled.Manifest.Descriptor.Digest, config, layers);
    }

    private void Remember(string cacheDirectory, ImageReference reference, BaseImage image)
    {
        var locations = BlobLocations.Load(cacheDirectory);
        try
        {
            locations.Remember(reference.Registry.Name, reference.Repository, image.Layers.Select(l => l.Blob.Descriptor.Digest));
            locations.Save();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Detail($"Could not save {locations.Path} ({e.Message}); a push to {reference.RegistryName} uploads the base's layers instead of mounting them.");
        }
    }

    private static NixImageException Unusable(ImageReference reference, string why) =>
        new(ErrorCodes.BaseImageUnusable, $"ContainerBaseImage '{reference}' cannot be built on: {why}");

    /// <summary>The layer cache's blob store as a pull's store: found with their sizes, added with their digests checked.</summary>
    private sealed class StoredBlobs(BlobStore store) : IPulledBlobs
    {
        public ImageBlob? Find(Digest digest, long? size, string mediaType)
        {
            var file = new FileInfo(store.PathOf(digest));
            if (!file.Exists || (size is { } expected && file.Length != expected))
            {
                return null;
            }

            // Manifests and configs are read, not copied through a checking sink: their digest is checked here (cheap, they are small).
            if (file.Length <= BlobStore.VerifiedOnReuseSize && store.DigestOf(digest) != digest)
            {
                file.Delete();
                return null;
            }

            // Least-recently-used pruning goes by this time.
            try
            {
                File.SetLastAccessTimeUtc(file.FullName, DateTime.UtcNow);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Only a hint for pruning.
            }

            return store.Blob(new Descriptor(mediaType, digest, file.Length));
        }

        public Task<bool> AddAsync(Descriptor descriptor, Func<Stream, CancellationToken, Task<bool>> download, CancellationToken cancellationToken) =>
            store.AddAsync(descriptor, download, cancellationToken);
    }
}
