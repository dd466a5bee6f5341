using System.Net;
using System.Net.Http.Headers;
using Nixery.Build.Oci;

namespace Nixery.Build.Registry;

/// <summary>
/// The distribution API operations a push (or a base image pull) needs, for one repository of one registry: one method per operation,
/// each building its request (a <see cref="RegistryRequest"/>, so the chain can build it again for another try) and
/// judging the answer. No retries, authentication, scheme choice or timeouts here: the handler chain below does those
/// (see <see cref="RegistryConnection"/>). Requests are built for <c>https://registry/</c>; the chain may send them
/// over plain HTTP. Errors are worded by <see cref="RegistryErrors"/>.
/// </summary>
internal sealed class DistributionClient
{
    private readonly HttpMessageInvoker _chain;
    private readonly RegistryErrors _errors;
    private readonly Uri _baseUri;
    private readonly RegistryAccess _access;

    /// <summary>The redirects a blob download follows (registries send blobs to their storage or a CDN).</summary>
    private const int MaxRedirects = 3;

    public DistributionClient(HttpMessageInvoker chain, RegistryHost registry, string repository, RegistryErrors errors, RegistryAccess access = RegistryAccess.Push)
    {
        _chain = chain;
        _errors = errors;
        _access = access;
        Registry = registry;
        Repository = repository;
        _baseUri = registry.BaseUri(Uri.UriSchemeHttps);
    }

    public RegistryHost Registry { get; }

    public string Repository { get; }

    /// <summary>The scopes every request of this connection asks for: pull and push, or pull only for a base image.</summary>
    private IReadOnlyList<string> Scopes => _access == RegistryAccess.Pull ? [$"repository:{Repository}:pull"] : [$"repository:{Repository}:pull,push"];

    /// <summary>
    /// <c>GET /v2/</c>, unauthenticated: checks that the registry speaks the distribution API. Being the first
    /// request, it is also how the chain finds the scheme and the challenge (a 401 here is an answer, not an error).
    /// </summary>
    public async Task PingAsync(CancellationToken cancellationToken)
    {
        const string What = "check the API (GET /v2/)";
        using var response = await SendAsync(new RegistryRequest(What, () => new HttpRequestMessage(HttpMethod.Get, new Uri(_baseUri, "v2/"))) { Authenticate = false }, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized && !response.IsSuccessStatusCode)
        {
            throw await _errors.FailedAsync(response, What, attempts: 1, "Check that ContainerRegistry names an OCI distribution registry (it must answer /v2/).");
        }
    }

    /// <summary>HEAD the blob: true when the repository holds it (with the right size).</summary>
    public async Task<bool> BlobExistsAsync(Descriptor blob, CancellationToken cancellationToken)
    {
        var what = $"check blob {Short(blob.Digest)}";
        using var response = await SendAsync(new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Head, Api($"blobs/{blob.Digest}"))) { Scopes = Scopes }, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await _errors.FailedAsync(response, what, 1);
        }

        return response.Content.Headers.ContentLength is not { } length || length == blob.Size;
    }

    /// <summary>
    /// Asks the registry to mount the blob from another repository. Returns null when mounted (201); else the
    /// upload the registry started instead (202), to upload into.
    /// </summary>
    public async Task<Uri?> MountAsync(Descriptor blob, string source, CancellationToken cancellationToken)
    {
        var what = $"mount blob {Short(blob.Digest)} from {source}";
        var uri = new Uri(Api("blobs/uploads/") + $"?mount={Uri.EscapeDataString(blob.Digest.Value)}&from={Uri.EscapeDataString(source)}");
        using var response = await SendAsync(
            new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Post, uri) { Content = Empty() }) { Scopes = [.. Scopes, $"repository:{source}:pull"] },
            cancellationToken);
        if (response.StatusCode == HttpStatusCode.Created)
        {
            return null;
        }

        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            return Location(response);
        }

        throw await _errors.FailedAsync(response, what, 1);
    }

    /// <summary>Starts an upload (<c>POST /v2/&lt;name&gt;/blobs/uploads/</c>); returns where to send the bytes.</summary>
    public async Task<Uri> StartUploadAsync(Descriptor blob, CancellationToken cancellationToken)
    {
        var what = $"start upload of {Short(blob.Digest)}";
        using var response = await SendAsync(
            new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Post, Api("blobs/uploads/")) { Content = Empty() }) { Scopes = Scopes },
            cancellationToken);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw await _errors.FailedAsync(response, what, 1);
        }

        return Location(response);
    }

    /// <summary>Sends the whole blob and completes the upload in one <c>PUT ?digest=</c>. One try: the uploader decides on the next.</summary>
    public async Task PutWholeBlobAsync(Uri location, ImageBlob blob, Action<long> progress, CancellationToken cancellationToken)
    {
        var what = $"upload blob {Short(blob.Descriptor.Digest)}";
        var uri = UploadLocation.WithQuery(location, "digest", blob.Descriptor.Digest.Value);
        var activity = new RequestActivity();
        using var response = await SendAsync(
            new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Put, uri) { Content = Body(blob, 0, blob.Descriptor.Size, progress, activity) })
            {
                Scopes = Scopes,
                Retry = false,
                Activity = activity,
            },
            cancellationToken);
        await ExpectBlobCreatedAsync(response, blob.Descriptor.Digest, what);
    }

    /// <summary>Sends one chunk (<c>PATCH</c> with <c>Content-Range</c>). Returns the next location and how much the registry holds now.</summary>
    public async Task<(Uri Location, long Received)> PatchChunkAsync(Uri location, ImageBlob blob, long offset, long length, Action<long> progress, CancellationToken cancellationToken)
    {
        var what = $"upload chunk {ByteRange.ContentRange(offset, length)} of {Short(blob.Descriptor.Digest)}";
        var activity = new RequestActivity();
        using var response = await SendAsync(
            new RegistryRequest(what, () =>
            {
                var content = Body(blob, offset, length, progress, activity);
                content.Headers.TryAddWithoutValidation("Content-Range", ByteRange.ContentRange(offset, length));
                return new HttpRequestMessage(HttpMethod.Patch, location) { Content = content };
            })
            {
                Scopes = Scopes,
                Retry = false,
                Activity = activity,
            },
            cancellationToken);
        if (response.StatusCode is HttpStatusCode.RequestedRangeNotSatisfiable or HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
        {
            // The registry and we disagree about the upload: the uploader asks where it stands, or starts again.
            throw new RegistryTransientException(what, response.StatusCode, response.ReasonPhrase, null, null);
        }

        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw await _errors.FailedAsync(response, what, 1);
        }

        var received = ByteRange.ReceivedLength(Header(response, "Range")) ?? offset + length;
        return (Location(response, fallback: location), received);
    }

    /// <summary>Where an upload stands (<c>GET</c> on its location): the next location and the bytes held; null when the registry no longer knows it.</summary>
    public async Task<(Uri Location, long Received)?> UploadStatusAsync(Uri location, Descriptor blob, CancellationToken cancellationToken)
    {
        var what = $"check upload of {Short(blob.Digest)}";
        using var response = await SendAsync(new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Get, location)) { Scopes = Scopes }, cancellationToken);
        if (response.StatusCode is not (HttpStatusCode.NoContent or HttpStatusCode.OK))
        {
            return null;
        }

        return (Location(response, fallback: location), ByteRange.ReceivedLength(Header(response, "Range")) ?? 0);
    }

    /// <summary>Completes a chunked upload (<c>PUT ?digest=</c> without a body).</summary>
    public async Task CompleteUploadAsync(Uri location, Descriptor blob, CancellationToken cancellationToken)
    {
        var what = $"complete upload of {Short(blob.Digest)}";
        var uri = UploadLocation.WithQuery(location, "digest", blob.Digest.Value);
        using var response = await SendAsync(new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Put, uri) { Content = Empty() }) { Scopes = Scopes }, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound && await BlobExistsAsync(blob, cancellationToken))
        {
            // A try whose answer was lost completed it already.
            return;
        }

        await ExpectBlobCreatedAsync(response, blob.Digest, what);
    }

    /// <summary>The digest the tag points at (HEAD, with the manifest types accepted), or null when the tag does not exist.</summary>
    public async Task<Digest?> ManifestDigestAsync(string tag, CancellationToken cancellationToken)
    {
        var what = $"check tag {tag}";
        using var response = await SendAsync(
            ManifestRequest(HttpMethod.Head, tag, what),
            cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await _errors.FailedAsync(response, what, 1);
        }

        return Digest.TryParse(Header(response, "Docker-Content-Digest"), out var digest) ? digest : null;
    }

    /// <summary>
    /// PUTs the manifest under a tag, with its media type, and checks the digest the registry reports. Returns whether
    /// the registry answered with <c>OCI-Subject</c>: it keeps the referrers of the manifest's subject itself (OCI 1.1).
    /// </summary>
    /// <param name="reference">A tag, or the manifest's own digest (an index's platform manifests, a referrer).</param>
    public async Task<bool> PutManifestAsync(ImageBlob manifest, string reference, CancellationToken cancellationToken)
    {
        var what = reference.StartsWith("sha256:", StringComparison.Ordinal) ? $"push manifest {reference}" : $"push manifest for tag {reference}";
        byte[] bytes;
        using (var stream = manifest.Open())
        using (var buffer = new MemoryStream())
        {
            await stream.CopyToAsync(buffer, cancellationToken);
            bytes = buffer.ToArray();
        }

        using var response = await SendAsync(
            new RegistryRequest(what, () =>
            {
                var content = new ByteArrayContent(bytes);
                content.Headers.ContentType = new MediaTypeHeaderValue(manifest.Descriptor.MediaType);
                return new HttpRequestMessage(HttpMethod.Put, Api($"manifests/{reference}")) { Content = content };
            })
            { Scopes = Scopes },
            cancellationToken);
        if (response.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.OK or HttpStatusCode.Accepted))
        {
            throw await _errors.FailedAsync(response, what, 1, "Check that the registry accepts OCI image manifests.");
        }

        CheckDigest(response, manifest.Descriptor.Digest, what);
        return response.Headers.Contains("OCI-Subject");
    }

    /// <summary>
    /// The referrers the registry lists for <paramref name="subject"/> (the OCI 1.1 referrers API, one page); null
    /// when it has no such API (404, as distribution 2.8 answers) or answers with something that is not an index.
    /// </summary>
    public async Task<IReadOnlyList<Descriptor>?> ReferrersAsync(Digest subject, CancellationToken cancellationToken)
    {
        var what = $"list referrers of {Short(subject)}";
        using var response = await SendAsync(
            new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Get, Api($"referrers/{subject}"))) { Scopes = Scopes },
            cancellationToken);
        // 404 is the spec's "no such API"; other refusals (405, 400 from registries that route the path elsewhere)
        // mean the same here: the tag schema is used instead.
        return response.IsSuccessStatusCode ? ReferrersIn(await response.Content.ReadAsByteArrayAsync(cancellationToken)) : null;
    }

    /// <summary>The descriptors an index of referrers lists; null when the bytes are not such an index.</summary>
    public static IReadOnlyList<Descriptor>? ReferrersIn(byte[] index)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(index);
            return OciDocuments.IndexEntries(document.RootElement);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// GETs a manifest or index by tag or digest, every media type accepted. Null when the registry does not know the
    /// reference (404). A digest reference is checked against the bytes that came back.
    /// </summary>
    public async Task<PulledManifest?> GetManifestAsync(string reference, CancellationToken cancellationToken)
    {
        var what = $"get manifest {reference}";
        using var response = await SendAsync(
            ManifestRequest(HttpMethod.Get, reference, what),
            cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await _errors.FailedAsync(response, what, 1);
        }

        // The chain read it whole, but never past RegistryRequest.MaxAnswerSize (4 MiB, as registries limit manifests).
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var digest = Digest.Of(bytes);
        if (Digest.TryParse(reference, out var expected) && expected != digest)
        {
            throw _errors.DigestMismatch(what, digest.Value, expected);
        }

        return new PulledManifest(bytes, response.Content.Headers.ContentType?.MediaType, digest);
    }

    /// <summary>
    /// GETs a blob and copies its bytes into <paramref name="destination"/> as they arrive (never held in memory),
    /// following the registry's redirects to its storage (without credentials: they are the registry's, not the
    /// storage's). The caller checks the digest. False when the registry does not have it (404).
    /// </summary>
    public async Task<bool> DownloadBlobAsync(Descriptor blob, Stream destination, CancellationToken cancellationToken)
    {
        var what = $"get blob {Short(blob.Digest)}";
        var request = new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Get, Api($"blobs/{blob.Digest}"))) { Scopes = Scopes, StreamAnswer = true };
        for (var redirects = 0; ; redirects++)
        {
            using var response = await SendAsync(request, cancellationToken);
            if (response.StatusCode is HttpStatusCode.TemporaryRedirect or HttpStatusCode.Redirect or HttpStatusCode.SeeOther or HttpStatusCode.PermanentRedirect or HttpStatusCode.MovedPermanently
                && redirects < MaxRedirects)
            {
                var location = Location(response);
                request = new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Get, location)) { Authenticate = false, StreamAnswer = true };
                continue;
            }

            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return false;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw await _errors.FailedAsync(response, what, 1);
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            await CopyDeclaredAsync(body, destination, blob.Size, what, cancellationToken);
            return true;
        }
    }

    /// <summary>
    /// Copies a blob's body into <paramref name="destination"/>, never past <paramref name="declared"/> bytes: one byte
    /// more proves the body too long, and the copy stops there (a registry cannot fill the disk with a blob it called small).
    /// </summary>
    private async Task CopyDeclaredAsync(Stream body, Stream destination, long declared, string what, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        var copied = 0L;
        while (true)
        {
            var room = (int)Math.Min(buffer.Length, declared - copied + 1);
            var read = await body.ReadAsync(buffer.AsMemory(0, room), cancellationToken);
            if (read == 0)
            {
                return;
            }

            if (copied + read > declared)
            {
                throw _errors.TooLarge(new RegistryAnswerTooLargeException(what, declared));
            }

            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            copied += read;
        }
    }

    /// <summary>A HEAD or GET of a manifest by tag or digest, accepting every manifest and index type.</summary>
    private RegistryRequest ManifestRequest(HttpMethod method, string reference, string what) => new(what, () =>
    {
        var request = new HttpRequestMessage(method, Api($"manifests/{reference}"));
        foreach (var type in MediaTypes.Manifests)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(type));
        }

        return request;
    })
    { Scopes = Scopes };

    /// <summary>Sends one request through the chain (which tries it as often as it needs) and returns the answer.</summary>
    private async Task<HttpResponseMessage> SendAsync(RegistryRequest request, CancellationToken cancellationToken)
    {
        using var message = request.CreateMessage();
        try
        {
            return await _chain.SendAsync(message, cancellationToken);
        }
        catch (RegistryAnswerTooLargeException e)
        {
            throw _errors.TooLarge(e);
        }
    }

    private async Task ExpectBlobCreatedAsync(HttpResponseMessage response, Digest digest, string what)
    {
        if (response.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.NoContent or HttpStatusCode.OK))
        {
            throw await _errors.FailedAsync(response, what, 1);
        }

        CheckDigest(response, digest, what);
    }

    private void CheckDigest(HttpResponseMessage response, Digest expected, string what)
    {
        var reported = Header(response, "Docker-Content-Digest");
        if (reported is not null && reported != expected.Value)
        {
            throw _errors.DigestMismatch(what, reported, expected);
        }
    }

    private Uri Location(HttpResponseMessage response, Uri? fallback = null)
    {
        var header = Header(response, "Location");
        if (header is null && fallback is not null)
        {
            return fallback;
        }

        try
        {
            return UploadLocation.Resolve(response.RequestMessage?.RequestUri ?? _baseUri, header);
        }
        catch (FormatException e)
        {
            throw _errors.UnusableLocation(e);
        }
    }

    private static string? Header(HttpResponseMessage response, string name)
    {
        if (response.Headers.NonValidated.TryGetValues(name, out var values) || response.Content.Headers.NonValidated.TryGetValues(name, out values))
        {
            return values.FirstOrDefault();
        }

        return null;
    }

    private Uri Api(string path) => new(_baseUri, $"v2/{Repository}/{path}");

    private static ByteArrayContent Empty()
    {
        var content = new ByteArrayContent([]);
        content.Headers.ContentLength = 0;
        return content;
    }

    /// <summary>The blob's bytes from <paramref name="offset"/>, opened afresh, with a fixed length (never chunked transfer encoding).</summary>
    private static StreamContent Body(ImageBlob blob, long offset, long length, Action<long> progress, RequestActivity activity)
    {
        var content = new StreamContent(
            new Streams.WindowStream(blob.Open(), offset, length, sent =>
            {
                activity.Progressed();
                progress(sent);
            }),
            1 << 16);
        content.Headers.ContentLength = length;
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    internal static string Short(Digest digest) => digest.Value[..19];
}

/// <summary>A manifest or index as the registry sent it: its bytes, the media type it said, and the bytes' digest.</summary>
internal sealed record PulledManifest(byte[] Content, string? ContentType, Digest Digest);
