using System.Diagnostics;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;

namespace Nixery.Build.Registry;

/// <summary>
/// The registry sink: writes a <see cref="BuiltImage"/> to a repository under every tag, following the OCI
/// distribution spec. Order makes it safe: tags already pointing at this exact manifest are left alone (and
/// when one does, the repository holds every blob); the blobs go first (bounded in parallel, each checked,
/// mounted or uploaded); the manifests go last, so a push that fails never leaves a tag on an incomplete image.
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

    public async Task<RegistryPushResult> PushAsync(BuiltImage image, RegistryPushRequest request, CancellationToken cancellationToken)
    {
        ImageNames.ValidateRepository(request.Repository);
        foreach (var tag in request.Tags)
        {
            ImageNames.ValidateTag(tag);
        }

        var stopwatch = Stopwatch.StartNew();
        TlsTrust? trust = null;
        var handler = _handler;
        if (handler is null)
        {
            trust = TlsTrust.FromEnvironment(request.Environment, request.Registry, request.Insecure);
            handler = RegistryTransport.CreateHandler(trust);
        }

        using var http = new HttpClient(handler, disposeHandler: _handler is null) { Timeout = Timeout.InfiniteTimeSpan };
        var credentials = new CredentialStore(request.Environment);
        using var auth = new RegistryAuthenticator(request.Registry, request.Repository, credentials, request.Insecure, _options.Time);
        var client = new RegistryClient(http, request.Registry, request.Repository, auth, _options.Retry, trust, request.Insecure, _log);

        var endpoints = request.CacheDirectory is null ? null : RegistryEndpoints.Load(request.CacheDirectory);
        await client.ConnectAsync(cancellationToken, endpoints?.SchemeOf(request.Registry));
        if (request.Insecure.AllowsHttp(request.Registry))
        {
            endpoints?.Remember(request.Registry, client.Scheme);
        }

        _log.Info($"Pushing {request.Repository}:{string.Join(",", request.Tags)} to {request.Registry} ({client.Scheme}{Describe(auth.Challenge)})");

        // Tags that already point at this manifest need nothing; one of them proves the repository holds every blob.
        var inPlace = new List<string>();
        foreach (var tag in request.Tags)
        {
            if (await client.ManifestDigestAsync(tag, cancellationToken) == image.Digest)
            {
                inPlace.Add(tag);
                _log.Info($"  tag {tag} already points at {image.Digest}: nothing to push for it");
            }
        }

        var toTag = request.Tags.Except(inPlace, StringComparer.Ordinal).ToList();
        var outcomes = new List<BlobOutcome>();
        var locations = Locations(request);
        if (toTag.Count > 0 && inPlace.Count == 0)
        {
            outcomes = await PushBlobsAsync(image, client, locations, cancellationToken);
        }

        foreach (var tag in toTag)
        {
            await client.PutManifestAsync(image.Manifest, tag, cancellationToken);
            _log.Info($"  pushed {request.Registry}/{request.Repository}:{tag}@{image.Digest}");
        }

        Remember(locations, request, image);
        var uploaded = outcomes.Count(o => o == BlobOutcome.Uploaded);
        var mounted = outcomes.Count(o => o == BlobOutcome.Mounted);
        var there = outcomes.Count(o => o == BlobOutcome.AlreadyThere);
        _log.Info(toTag.Count == 0
            ? $"Registry {request.Registry}/{request.Repository}: every tag already points at {image.Digest}; nothing pushed"
            : $"Pushed to {request.Registry}/{request.Repository} in {stopwatch.Elapsed.TotalSeconds:0.0} s: {uploaded} blob(s) uploaded, {mounted} mounted, {there} already there; {toTag.Count} tag(s) set");
        return new RegistryPushResult(request.References.ToList(), uploaded, mounted, there, toTag.Count, inPlace.Count);
    }

    private async Task<List<BlobOutcome>> PushBlobsAsync(BuiltImage image, RegistryClient client, BlobLocations? locations, CancellationToken cancellationToken)
    {
        var blobs = new List<(ImageBlob Blob, string Label)>();
        for (var i = 0; i < image.Layers.Count; i++)
        {
            blobs.Add((image.Layers[i].Blob, $"layer {i + 1}/{image.Layers.Count}"));
        }

        blobs.Add((image.Config, "config"));
        blobs = blobs.DistinctBy(b => b.Blob.Descriptor.Digest).ToList();

        var uploader = new BlobUploader(client, locations, _options, _log);
        var outcomes = new BlobOutcome[blobs.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.MaxParallelUploads), CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, blobs.Count), parallel, async (i, token) =>
        {
            outcomes[i] = await uploader.PushAsync(blobs[i].Blob, blobs[i].Label, token);
        });
        return [.. outcomes];
    }

    private static BlobLocations? Locations(RegistryPushRequest request)
    {
        if (request.CacheDirectory is null)
        {
            return null;
        }

        return BlobLocations.Load(request.CacheDirectory);
    }

    private void Remember(BlobLocations? locations, RegistryPushRequest request, BuiltImage image)
    {
        if (locations is null)
        {
            return;
        }

        try
        {
            locations.Remember(request.Registry.Name, request.Repository, image.Layers.Select(l => l.Blob.Descriptor.Digest).Append(image.Config.Descriptor.Digest));
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
