using System.Text.Json;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;

namespace Nixery.Build.Registry;

/// <summary>Where a pull keeps what it fetched: found by digest, added with the digest and size checked before it counts.</summary>
public interface IPulledBlobs : IBlobSource
{
    /// <summary>
    /// Stores the bytes <paramref name="download"/> writes (false: the registry had none) as the blob
    /// <paramref name="descriptor"/> names, only when their digest and size are the descriptor's; throws
    /// <see cref="InvalidDataException"/> when they are not, and nothing is kept.
    /// </summary>
    Task<bool> AddAsync(Descriptor descriptor, Func<Stream, CancellationToken, Task<bool>> download, CancellationToken cancellationToken);
}

/// <summary>Which base image to pull, for which platform, and how to reach its registry.</summary>
public sealed record PullRequest
{
    public required ImageReference Image { get; init; }

    public required Platform Platform { get; init; }

    public InsecureRegistries Insecure { get; init; } = InsecureRegistries.None;

    public TimeSpan Timeout { get; init; } = PushOptions.DefaultTimeout;

    /// <summary>The build's environment: credentials variables, DOCKER_CONFIG, HOME, SSL_CERT_FILE, PATH.</summary>
    public Func<string, string?> Environment { get; init; } = _ => null;
}

/// <summary>A base image, whole in the blob store: what its reference resolved to, and the platform's manifest, config and layers.</summary>
/// <param name="Settings">The config blob, read.</param>
/// <param name="ResolvedDigest">What the reference named when pulled: the index of a multi-platform base, else the manifest.</param>
/// <param name="Downloaded">Blobs fetched from the registry by this pull (0 when the store held everything).</param>
public sealed record PulledImage(ImageReference Image, Digest ResolvedDigest, ImageBlob Manifest, ImageBlob Config, BaseImageConfig Settings, IReadOnlyList<ImageBlob> Layers, int Downloaded);

/// <summary>
/// Pulls a base image into a blob store, asking the registry only what the store cannot answer: a reference pinned
/// by digest whose blobs are all stored needs no request at all; a tag costs one (<c>HEAD</c> of the tag, to learn
/// what it points at now). From an index, the manifest of the platform being built is chosen. Every blob is checked
/// against its digest as it is written, and streamed (never held in memory). Credentials, TLS trust, insecure
/// registries and timeouts are the push's (<see cref="RegistryConnection"/>, with read-only scopes).
/// </summary>
public sealed class ImagePuller
{
    private readonly IBuildLog _log;
    private readonly HttpMessageHandler? _handler;
    private readonly PushOptions _options;

    /// <param name="handler">The HTTP stack (tests pass their own); null: the real one.</param>
    public ImagePuller(IBuildLog log, HttpMessageHandler? handler = null, PushOptions? options = null)
    {
        _log = log;
        _handler = handler;
        _options = options ?? new PushOptions();
    }

    public async Task<PulledImage> PullAsync(PullRequest request, IPulledBlobs blobs, CancellationToken cancellationToken)
    {
        using var pull = new Pull(this, request, blobs);
        return await pull.RunAsync(cancellationToken);
    }

    /// <summary>The most layers an image may have (Docker's limit, Pipeline's ImageDefaults.MaxLayers): a base with more cannot be built on.</summary>
    private const int MaxLayers = 125;

    /// <summary>One pull: the connection is made on the first request that is needed, and closed at the end.</summary>
    private sealed class Pull(ImagePuller puller, PullRequest request, IPulledBlobs blobs) : IDisposable
    {
        private readonly ImageReference _image = request.Image;
        private RegistryConnection? _connection;
        private int _downloaded;

        public async Task<PulledImage> RunAsync(CancellationToken cancellationToken)
        {
            var (rootDigest, root) = await RootAsync(cancellationToken);
            var manifest = root;
            if (MediaTypes.IsIndex(root.Descriptor.MediaType))
            {
                var chosen = ChoosePlatform(root);
                manifest = await ManifestAsync(chosen, cancellationToken);
            }

            var (configDescriptor, layerDescriptors) = ReadManifest(manifest);
            if (layerDescriptors.Count > MaxLayers)
            {
                // Checked before anything is downloaded: a manifest of 4 MiB can list 25,000 layers.
                throw new NixImageException(
                    ErrorCodes.LayerLimit,
                    $"ContainerBaseImage '{_image}' has {layerDescriptors.Count} layers, too many to build on: an image may have at most {MaxLayers} (Docker refuses more), whatever NixLayerBudget is. "
                    + "Use a base image with fewer layers (squash it), or build without ContainerBaseImage.");
            }

            if (configDescriptor.Size > RegistryRequest.MaxAnswerSize)
            {
                throw Unusable($"its config is declared as {configDescriptor.Size} bytes, more than the {RegistryRequest.MaxAnswerSize} a config may have here.");
            }

            var config = await BlobAsync(configDescriptor, "config", cancellationToken);
            var settings = ReadConfig(config);
            var layers = new ImageBlob[layerDescriptors.Count];
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, puller._options.MaxParallelUploads), CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(Enumerable.Range(0, layers.Length), parallel, async (i, token) =>
            {
                var layer = layerDescriptors[i];
                if (MediaTypes.CompressionOf(layer.MediaType) is null)
                {
                    throw Unusable($"its layer {i + 1} has the media type '{layer.MediaType}', which is not a Linux image layer this package can build on (gzip, zstd or plain tar).");
                }

                layers[i] = await BlobAsync(layer, $"layer {i + 1}/{layers.Length}", token);
            });

            if (_downloaded > 0)
            {
                puller._log.Info($"Base image {_image}: {rootDigest}, {layers.Length} layer(s); {_downloaded} blob(s) downloaded");
            }
            else
            {
                puller._log.Detail($"base image {_image}: {rootDigest}, every blob already in the layer cache");
            }

            return new PulledImage(_image, rootDigest, manifest, config, settings, layers, _downloaded);
        }

        public void Dispose() => _connection?.Dispose();

        /// <summary>What the reference names now, from the store when the digest is known and stored, else from the registry.</summary>
        private async Task<(Digest Digest, ImageBlob Root)> RootAsync(CancellationToken cancellationToken)
        {
            var digest = _image.Digest;
            if (digest is null)
            {
                var client = await ClientAsync(cancellationToken);
                digest = await client.ManifestDigestAsync(_image.Reference, cancellationToken);
            }

            if (digest is { } known && FindManifest(known, size: null) is { } stored)
            {
                return (known, stored);
            }

            var pulled = await GetManifestAsync(_image.Reference, cancellationToken);
            return (pulled.Descriptor.Digest, pulled);
        }

        private async Task<ImageBlob> ManifestAsync(Descriptor descriptor, CancellationToken cancellationToken) =>
            FindManifest(descriptor.Digest, descriptor.Size) ?? await GetManifestAsync(descriptor.Digest.Value, cancellationToken);

        private ImageBlob? FindManifest(Digest digest, long? size)
        {
            var blob = blobs.Find(digest, size, MediaTypes.OciManifest);
            return blob is null ? null : blob with { Descriptor = blob.Descriptor with { MediaType = MediaTypeOf(Read(blob), null) } };
        }

        private async Task<ImageBlob> GetManifestAsync(string reference, CancellationToken cancellationToken)
        {
            var client = await ClientAsync(cancellationToken);
            var pulled = await client.GetManifestAsync(reference, cancellationToken)
                ?? throw new NixImageException(
                    ErrorCodes.BaseImageNotFound,
                    $"The registry {_image.RegistryName} has no image {_image.Repository}:{reference} (404), so ContainerBaseImage '{_image}' cannot be pulled. Check the repository name and the tag or digest.");
            var descriptor = new Descriptor(MediaTypeOf(pulled.Content, pulled.ContentType), pulled.Digest, pulled.Content.Length);
            await blobs.AddAsync(
                descriptor,
                async (stream, token) =>
                {
                    await stream.WriteAsync(pulled.Content, token);
                    return true;
                },
                cancellationToken);
            _downloaded++;
            return blobs.Find(pulled.Digest, pulled.Content.Length, descriptor.MediaType)!;
        }

        /// <summary>A blob from the store, else downloaded into it (tried again on a broken transfer).</summary>
        private async Task<ImageBlob> BlobAsync(Descriptor descriptor, string label, CancellationToken cancellationToken)
        {
            if (blobs.Find(descriptor.Digest, descriptor.Size, descriptor.MediaType) is { } stored)
            {
                return stored;
            }

            var client = await ClientAsync(cancellationToken);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    var found = await blobs.AddAsync(descriptor, (stream, token) => DownloadAsync(client, descriptor, stream, token), cancellationToken);
                    if (!found)
                    {
                        throw new NixImageException(
                            ErrorCodes.BaseImageNotFound,
                            $"The registry {_image.RegistryName} lacks the {label} blob {descriptor.Digest} of ContainerBaseImage '{_image}' (404): the image is incomplete there. Push the base image again, or use another one.");
                    }

                    break;
                }
                catch (InvalidDataException e)
                {
                    throw Unusable($"its {label} blob did not match its digest: {e.Message} The registry, or something between it and this machine, changed the bytes.");
                }
                catch (PullDestinationException e)
                {
                    // A full disk or a folder without permission: another try would only fill it again.
                    throw new NixImageException(
                        ErrorCodes.WriteFailed,
                        $"The {label} blob of ContainerBaseImage '{_image}' could not be written to the layer cache (NixImageCacheDirectory): {e.Message} "
                        + "Free space on its disk or make the folder writable (or set NixImageCacheDirectory to another folder), then build again.",
                        e.InnerException ?? e);
                }
                catch (PullBrokeOffException e) when (!cancellationToken.IsCancellationRequested && attempt < puller._options.Retry.MaxAttempts)
                {
                    // At normal verbosity: a stalled download is otherwise silent for the whole timeout.
                    puller._log.Info($"  base image {label} {DistributionClient.Short(descriptor.Digest)} from {_image.RegistryName}: the download broke off ({e.Message}), try {attempt} of {puller._options.Retry.MaxAttempts}; trying again");
                    await puller._options.Retry.Delay(puller._options.Retry.DelayAfter(attempt), cancellationToken);
                }
                catch (PullBrokeOffException e) when (!cancellationToken.IsCancellationRequested)
                {
                    throw new NixImageException(
                        ErrorCodes.RegistryUnreachable,
                        $"The {label} blob of ContainerBaseImage '{_image}' could not be downloaded from {_image.RegistryName} ({e.Message}), after {attempt} tries. Check the network, then build again.",
                        e.InnerException ?? e);
                }
            }

            Interlocked.Increment(ref _downloaded);
            puller._log.Info($"  base image {label} {DistributionClient.Short(descriptor.Digest)}: {BlobProgress.Size(descriptor.Size)} downloaded");
            return blobs.Find(descriptor.Digest, descriptor.Size, descriptor.MediaType)!;
        }

        /// <summary>One try of a blob download into the store: a failure to write is the store's, a failure to read the registry's.</summary>
        private static async Task<bool> DownloadAsync(DistributionClient client, Descriptor descriptor, Stream store, CancellationToken cancellationToken)
        {
            try
            {
                return await client.DownloadBlobAsync(descriptor, new PullDestination(store), cancellationToken);
            }
            catch (Exception e) when (e is IOException or TimeoutException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                throw new PullBrokeOffException(e);
            }
        }

        private Descriptor ChoosePlatform(ImageBlob index)
        {
            try
            {
                return ChoosePlatformIn(index);
            }
            catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
            {
                throw Unusable($"its index cannot be read ({e.Message}).");
            }
        }

        /// <summary>The platform's manifest from an index whose shape is checked first: <c>manifests</c> a list of objects, each <c>platform</c> an object.</summary>
        private Descriptor ChoosePlatformIn(ImageBlob index)
        {
            using var document = JsonDocument.Parse(Read(index));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("manifests", out var manifests) || manifests.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException($"it is served as an index ({index.Descriptor.MediaType}) but has no 'manifests' list");
            }

            foreach (var entry in manifests.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object || (entry.TryGetProperty("platform", out var p) && p.ValueKind != JsonValueKind.Object))
                {
                    throw new FormatException("an entry of 'manifests', or its 'platform', is not a JSON object");
                }
            }

            var platform = request.Platform;
            var candidates = document.RootElement.GetProperty("manifests").EnumerateArray()
                .Where(m => m.TryGetProperty("platform", out var p) && Text(p, "os") == platform.Os && Text(p, "architecture") == platform.Architecture)
                .Select(m => (Descriptor: OciDocuments.Descriptor(m), Variant: Text(m.GetProperty("platform"), "variant")))
                .ToList();
            var chosen = candidates.FirstOrDefault(c => c.Variant == platform.Variant).Descriptor
                ?? candidates.FirstOrDefault(c => c.Variant is null || platform.Variant is null).Descriptor;
            if (chosen is null)
            {
                var offered = document.RootElement.GetProperty("manifests").EnumerateArray()
                    .Where(m => m.TryGetProperty("platform", out var p) && Text(p, "os") is not (null or "unknown"))
                    .Select(m => m.GetProperty("platform"))
                    .Select(p => $"{Text(p, "os")}/{Text(p, "architecture")}{(Text(p, "variant") is { } v ? "/" + v : string.Empty)}")
                    .Distinct()
                    .ToList();
                throw new NixImageException(
                    ErrorCodes.BaseImagePlatformMissing,
                    $"ContainerBaseImage '{_image}' has no image for {Describe(platform)}; it has {(offered.Count == 0 ? "none with a platform" : string.Join(", ", offered))}. "
                    + "Choose a base image for this platform, or build for one the base has (RuntimeIdentifier, ContainerRuntimeIdentifiers).");
            }

            return chosen;
        }

        /// <summary>The config, read, and checked to be for the platform being built.</summary>
        private BaseImageConfig ReadConfig(ImageBlob configBlob)
        {
            BaseImageConfig config;
            try
            {
                config = BaseImageConfig.Parse(Read(configBlob));
            }
            catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
            {
                throw Unusable($"its config is not an image configuration ({e.Message}).");
            }

            var platform = request.Platform;
            if (config.Os != platform.Os || config.Architecture != platform.Architecture)
            {
                throw new NixImageException(
                    ErrorCodes.BaseImagePlatformMissing,
                    $"ContainerBaseImage '{_image}' is an image for {config.Os}/{config.Architecture}, not for {Describe(platform)}, the platform being built. "
                    + "Choose a base image for this platform (or a multi-platform one), or build for the base's platform.");
            }

            return config;
        }

        private (Descriptor Config, IReadOnlyList<Descriptor> Layers) ReadManifest(ImageBlob manifest)
        {
            try
            {
                using var document = JsonDocument.Parse(Read(manifest));
                if (manifest.Descriptor.MediaType is not (MediaTypes.OciManifest or MediaTypes.DockerManifest))
                {
                    throw Unusable($"its manifest has the media type '{manifest.Descriptor.MediaType}', not an OCI or Docker v2 image manifest.");
                }

                return OciDocuments.Manifest(document.RootElement);
            }
            catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
            {
                throw Unusable($"its manifest cannot be read ({e.Message}).");
            }
        }

        private async Task<DistributionClient> ClientAsync(CancellationToken cancellationToken)
        {
            if (_connection is not null)
            {
                return _connection.Client;
            }

            TlsTrust? trust = null;
            var handler = puller._handler;
            if (handler is null)
            {
                trust = TlsTrust.FromEnvironment(request.Environment, _image.Registry, request.Insecure);
                handler = RegistryTransport.CreateHandler(trust, request.Timeout);
            }

            _connection = new RegistryConnection(
                handler,
                disposeTransport: puller._handler is null,
                _image.Registry,
                _image.Repository,
                new CredentialStore(request.Environment),
                request.Insecure,
                puller._options.Retry,
                trust,
                puller._log,
                request.Timeout,
                puller._options.Time,
                RegistryAccess.Pull);
            await _connection.ConnectAsync(cancellationToken);
            return _connection.Client;
        }

        /// <summary>The document's own mediaType member, else the type the registry sent, else by shape.</summary>
        private string MediaTypeOf(byte[] content, string? contentType)
        {
            try
            {
                using var document = JsonDocument.Parse(content);
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    throw Unusable("its manifest is not a JSON object.");
                }

                if (root.TryGetProperty("schemaVersion", out var version) && version.ValueKind == JsonValueKind.Number && version.TryGetInt32(out var number) && number == 1)
                {
                    throw Unusable("its manifest is Docker's schema 1, which registries stopped serving years ago. Use a base image pushed with a current tool.");
                }

                if (Text(root, "mediaType") is { } declared)
                {
                    return declared;
                }

                if (contentType is not null && MediaTypes.Manifests.Contains(contentType))
                {
                    return contentType;
                }

                return root.TryGetProperty("manifests", out _) ? MediaTypes.OciIndex : MediaTypes.OciManifest;
            }
            catch (JsonException e)
            {
                throw Unusable($"its manifest is not JSON ({e.Message}).");
            }
        }

        private NixImageException Unusable(string why) => new(
            ErrorCodes.BaseImageUnusable,
            $"ContainerBaseImage '{_image}' cannot be built on: {why}");

        private static byte[] Read(ImageBlob blob)
        {
            using var stream = blob.Open();
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            return buffer.ToArray();
        }

        private static string? Text(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        private static string Describe(Platform platform) => $"{platform.Os}/{platform.Architecture}{(platform.Variant is { } v ? "/" + v : string.Empty)}";
    }
}
