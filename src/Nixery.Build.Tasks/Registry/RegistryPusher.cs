using System.Diagnostics;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;

namespace Nixery.Build.Registry;

/// <summary>
/// The registry sink: writes an <see cref="ImageArtifact"/> (an image, or an index of one per platform) to a repository under every tag, following the OCI
/// distribution spec. Order makes it safe: tags already pointing at this exact manifest are left alone (and
/// when one does, the repository holds every blob); the blobs go first (bounded in parallel, each checked,
/// mounted or uploaded, each once however many platforms share it); then an index's platform manifests, by digest;
/// the tags' manifests go last, so a push that fails never leaves a tag on an incomplete image.
/// Blobs are re-read from the image (<see cref="ImageBlob.Open"/>) for every try, never held in memory.
/// </summary>
public sealed class RegistryPusher
{
    private readonly HttpMessageHandler? _handler;
    private readonly IBuildLog _log;
    private readonly PushOptions _options;

    /// <param name="handler">The HTTP stack to use (tests pass their own); null: the real one, trusting the system store and the build's SSL_CERT_FILE/SSL_CERT_DIR.</param>
    public RegistryPusher(IBuildLog log, HttpMessageHandler? handler = null, PushOptions? options = null)
    {
        _handler = handler;
        _log = log;
        _options = options ?? new PushOptions();
    }

    public async Task<RegistryPushResult> PushAsync(ImageArtifact image, RegistryPushRequest request, CancellationToken cancellationToken)
    {
        using var session = await ConnectAsync(request, cancellationToken);
        return await session.PushAsync(image, cancellationToken);
    }

    /// <summary>
    /// The part of a push that needs no image: checks the names, connects (scheme, challenge) and asks where every
    /// tag points now. The image build starts this before its layers, so the registry's round trips and the HTTP
    /// stack's first-use cost overlap with the layer work.
    /// </summary>
    public async Task<Session> ConnectAsync(RegistryPushRequest request, CancellationToken cancellationToken)
    {
        ImageNames.ValidateRepository(request.Repository);
        foreach (var tag in request.Tags)
        {
            ImageNames.ValidateTag(tag);
        }

        TlsTrust? trust = null;
        var handler = _handler;
        if (handler is null)
        {
            trust = TlsTrust.FromEnvironment(request.Environment, request.Registry, request.Insecure);
            handler = RegistryTransport.CreateHandler(trust, request.Timeout);
        }

        var connection = new RegistryConnection(
            handler,
            disposeTransport: _handler is null,
            request.Registry,
            request.Repository,
            new CredentialStore(request.Environment),
            request.Insecure,
            _options.Retry,
            trust,
            _log,
            request.Timeout,
            _options.Time);
        var session = new Session(this, request, connection);
        try
        {
            var endpoints = request.CacheDirectory is null ? null : RegistryEndpoints.Load(request.CacheDirectory);
            await connection.ConnectAsync(cancellationToken, endpoints?.SchemeOf(request.Registry));
            if (request.Insecure.AllowsHttp(request.Registry))
            {
                endpoints?.Remember(request.Registry, connection.Scheme);
            }

            var current = new Dictionary<string, Digest?>(StringComparer.Ordinal);
            foreach (var tag in request.Tags)
            {
                current[tag] = await connection.Client.ManifestDigestAsync(tag, cancellationToken);
            }

            session.Connected(current);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>A connected push: where the tags pointed when it connected; <see cref="PushAsync"/> sends the image.</summary>
    public sealed class Session : IDisposable
    {
        private readonly RegistryPusher _pusher;
        private readonly RegistryPushRequest _request;
        private readonly RegistryConnection _connection;
        private IReadOnlyDictionary<string, Digest?>? _tags;

        internal Session(RegistryPusher pusher, RegistryPushRequest request, RegistryConnection connection)
        {
            _pusher = pusher;
            _request = request;
            _connection = connection;
        }

        public Task<RegistryPushResult> PushAsync(ImageArtifact image, CancellationToken cancellationToken) =>
            _pusher.PushAsync(image, _request, _connection, _tags ?? throw new InvalidOperationException("Not connected."), cancellationToken);

        public void Dispose() => _connection.Dispose();

        internal void Connected(IReadOnlyDictionary<string, Digest?> tags) => _tags = tags;
    }

    private async Task<RegistryPushResult> PushAsync(ImageArtifact image, RegistryPushRequest request, RegistryConnection connection, IReadOnlyDictionary<string, Digest?> tags, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var client = connection.Client;
        _log.Info($"Pushing {request.Repository}:{string.Join(",", request.Tags)} to {request.Registry} ({connection.Scheme}{Describe(connection.Challenge)})");

        // Tags that already point at this manifest need nothing; one of them proves the repository holds every blob.
        var inPlace = new List<string>();
        foreach (var tag in request.Tags)
        {
            if (tags.TryGetValue(tag, out var digest) && digest == image.Digest)
            {
                inPlace.Add(tag);
                _log.Info($"  tag {tag} already points at {image.Digest}: nothing to push for it");
            }
        }

        var toTag = request.Tags.Except(inPlace, StringComparer.Ordinal).ToList();
        var outcomes = new List<BlobOutcome>();
        var locations = Locations(request);
        // A tag in place proves the repository holds the blobs, and an index's platform manifests too.
        var platformManifestsToPush = inPlace.Count == 0;
        if (toTag.Count > 0 && inPlace.Count == 0)
        {
            outcomes = await PushBlobsAsync(image, connection, locations, trustRecord: true, cancellationToken);
        }

        foreach (var tag in toTag)
        {
            try
            {
                if (platformManifestsToPush)
                {
                    await PushPlatformManifestsAsync(image, client, cancellationToken);
                    platformManifestsToPush = false;
                }

                await client.PutManifestAsync(image.Root, tag, cancellationToken);
            }
            catch (NixImageException e) when (e.Code == ErrorCodes.RegistryRequestFailed && outcomes.Contains(BlobOutcome.Recorded))
            {
                // The registry lost a blob an earlier push left there (garbage collected, deleted, wiped): check them all.
                _log.Info($"  the registry refused the manifest, so it lacks a blob an earlier push sent; checking every blob ({e.Message})");
                outcomes = await PushBlobsAsync(image, connection, locations, trustRecord: false, cancellationToken);
                await PushPlatformManifestsAsync(image, client, cancellationToken);
                platformManifestsToPush = false;
                await client.PutManifestAsync(image.Root, tag, cancellationToken);
            }

            _log.Info($"  pushed {request.Registry}/{request.Repository}:{tag}@{image.Digest}");
        }

        var referrers = await PushReferrersAsync(image, connection, locations, cancellationToken);
        Remember(locations, request, image);
        var uploaded = outcomes.Count(o => o == BlobOutcome.Uploaded);
        var mounted = outcomes.Count(o => o == BlobOutcome.Mounted);
        var there = outcomes.Count(o => o is BlobOutcome.AlreadyThere or BlobOutcome.Recorded);
        var recorded = outcomes.Count(o => o == BlobOutcome.Recorded);
        _log.Info(toTag.Count == 0
            ? $"Registry {request.Registry}/{request.Repository}: every tag already points at {image.Digest}; nothing pushed"
            : $"Pushed to {request.Registry}/{request.Repository} in {stopwatch.Elapsed.TotalSeconds:0.00} s: {uploaded} blob(s) uploaded, {mounted} mounted, {there} already there ({recorded} known from earlier pushes); {toTag.Count} tag(s) set");
        return new RegistryPushResult(request.References.ToList(), uploaded, mounted, there, toTag.Count, inPlace.Count) { ReferrersPushed = referrers };
    }

    /// <summary>
    /// Attaches every image's referrers (its SBOMs) that the registry does not list yet: their blobs, then each artifact
    /// manifest by digest. A registry with the referrers API says so (<c>OCI-Subject</c> on the PUT) and lists them
    /// itself; for one without (distribution 2.8), the referrers tag schema: the index at tag <c>sha256-&lt;hex&gt;</c>
    /// of the subject, merged with what it already lists. Already listed (by the tag or the API): nothing is sent.
    /// Returns how many were attached.
    /// </summary>
    private async Task<int> PushReferrersAsync(ImageArtifact image, RegistryConnection connection, BlobLocations? locations, CancellationToken cancellationToken)
    {
        var client = connection.Client;
        var attached = 0;
        foreach (var subject in image.Referrers.GroupBy(r => r.Subject))
        {
            var ours = subject.ToList();
            bool Lists(IReadOnlyList<Descriptor>? listed) => listed is not null && ours.All(r => listed.Any(d => d.Digest == r.Manifest.Descriptor.Digest));
            var tag = "sha256-" + subject.Key.Hex;
            var tagged = await client.GetManifestAsync(tag, cancellationToken) is { } index ? DistributionClient.ReferrersIn(index.Content) : null;
            if (Lists(tagged) || Lists(await client.ReferrersAsync(subject.Key, cancellationToken)))
            {
                continue;
            }

            bool api;
            try
            {
                api = await AttachAsync(ours, tagged, tag, connection, locations, cancellationToken);
            }
            catch (NixImageException e) when (e.Code == ErrorCodes.RegistryRequestFailed)
            {
                // The image is pushed and tagged; a registry that takes no OCI 1.1 artifacts should not undo that.
                _log.Warning(
                    ErrorCodes.ReferrersRefused,
                    $"The registry refused the SBOMs of {subject.Key} as OCI referrers ({e.Message}) The image itself is pushed; the documents are beside the build summary. Set NixImageSbom=none to stop attaching them to this registry.");
                continue;
            }

            attached += ours.Count;
            _log.Info($"  attached {ours.Count} SBOM(s) to {DistributionClient.Short(subject.Key)} ({(api ? "the registry's referrers API" : "referrers tag " + tag[..19] + "…")})");
        }

        return attached;
    }

    /// <summary>One subject's referrers: blobs, artifact manifests, then (without the API) the merged referrers tag. True when the registry has the API.</summary>
    private async Task<bool> AttachAsync(List<Referrer> ours, IReadOnlyList<Descriptor>? tagged, string tag, RegistryConnection connection, BlobLocations? locations, CancellationToken cancellationToken)
    {
        var client = connection.Client;
        var uploader = new BlobUploader(connection, locations, _options, _log);
        foreach (var blob in ours.SelectMany(r => r.Blobs).DistinctBy(b => b.Descriptor.Digest))
        {
            await uploader.PushAsync(blob, "SBOM", cancellationToken);
        }

        var api = false;
        foreach (var referrer in ours)
        {
            api |= await client.PutManifestAsync(referrer.Manifest, referrer.Manifest.Descriptor.Digest.Value, cancellationToken);
        }

        if (!api)
        {
            var merged = (tagged ?? []).Where(d => !ours.Any(r => r.Manifest.Descriptor.Digest == d.Digest)).Concat(ours.Select(r => r.Descriptor)).ToList();
            var bytes = OciJson.Serialize(new ImageIndex(merged));
            await client.PutManifestAsync(new ImageBlob(new Descriptor(MediaTypes.OciIndex, Digest.Of(bytes), bytes.Length), () => new MemoryStream(bytes, writable: false)), tag, cancellationToken);
        }

        return api;
    }

    private async Task<List<BlobOutcome>> PushBlobsAsync(ImageArtifact image, RegistryConnection connection, BlobLocations? locations, bool trustRecord, CancellationToken cancellationToken)
    {
        var blobs = new List<(ImageBlob Blob, string Label)>();
        foreach (var (platformImage, index) in image.Images.Select((p, i) => (p, i)))
        {
            var platform = image.IsIndex ? $"image {index + 1}/{image.Images.Count}, " : string.Empty;
            for (var i = 0; i < platformImage.Layers.Count; i++)
            {
                blobs.Add((platformImage.Layers[i].Blob, $"{platform}layer {i + 1}/{platformImage.Layers.Count}"));
            }

            blobs.Add((platformImage.Config, $"{platform}config"));
        }

        blobs = blobs.DistinctBy(b => b.Blob.Descriptor.Digest).ToList();

        var uploader = new BlobUploader(connection, locations, _options, _log);
        var outcomes = new BlobOutcome[blobs.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.MaxParallelUploads), CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, blobs.Count), parallel, async (i, token) =>
        {
            outcomes[i] = await uploader.PushAsync(blobs[i].Blob, blobs[i].Label, token, trustRecord);
        });
        return [.. outcomes];
    }

    /// <summary>An index's platform manifests, each under its digest, before the index that names them.</summary>
    private static async Task PushPlatformManifestsAsync(ImageArtifact image, DistributionClient client, CancellationToken cancellationToken)
    {
        foreach (var manifest in image.PlatformManifests)
        {
            await client.PutManifestAsync(manifest, manifest.Descriptor.Digest.Value, cancellationToken);
        }
    }

    private static BlobLocations? Locations(RegistryPushRequest request)
    {
        if (request.CacheDirectory is null)
        {
            return null;
        }

        return BlobLocations.Load(request.CacheDirectory);
    }

    private void Remember(BlobLocations? locations, RegistryPushRequest request, ImageArtifact image)
    {
        if (locations is null)
        {
            return;
        }

        try
        {
            // The SBOMs' documents and empty config too: another repository then mounts them as it mounts the layers.
            locations.Remember(request.Registry.Name, request.Repository, image.ContentBlobs.Concat(image.Referrers.SelectMany(r => r.Blobs)).Select(b => b.Descriptor.Digest));
            locations.Save();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only a hint for the next push: say so, do not fail this one.
            _log.Detail($"Could not save {locations.Path} ({e.Message}); the next push to another repository uploads instead of mounting.");
        }
    }

    private static string Describe(AuthChallenge? challenge) => challenge switch
    {
        null => ", anonymous",
        { IsBearer: true } => ", token authentication",
        { IsBasic: true } => ", basic authentication",
        _ => string.Empty,
    };
}
