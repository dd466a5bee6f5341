using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;

namespace Nixery.Build.Tests.Pipeline;

/// <summary>
/// An in-process implementation of the OCI distribution API, as an <see cref="HttpMessageHandler"/>: blobs (HEAD,
/// GET, cross-repository mount, monolithic and chunked uploads) and manifests (HEAD, GET, PUT, refused while a blob
/// it names is missing). Anonymous, no TLS. It keeps a log of every request, for tests of push order and reuse
/// without sockets; the real docker-registry covers the wire in the end-to-end tests.
/// </summary>
public sealed class InMemoryRegistry : HttpMessageHandler
{
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, bool>> _repositoryBlobs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string MediaType, byte[] Content)> _manifests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, MemoryStream> _uploads = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Method, string Path)> _log = new();

    /// <summary>
    /// Whether it has the OCI 1.1 referrers API: a manifest PUT with a <c>subject</c> is answered with
    /// <c>OCI-Subject</c>, and <c>GET /v2/&lt;name&gt;/referrers/&lt;digest&gt;</c> lists the manifests whose subject that is.
    /// Without it (as distribution 2.8), that path is 404.
    /// </summary>
    public bool ReferrersApi { get; init; }

    /// <summary>Whether it refuses manifests with a <c>subject</c> (OCI 1.1 artifacts), as some older registries do.</summary>
    public bool RefusesArtifacts { get; init; }

    /// <summary>The manifest (or index) a tag or digest names, parsed; null when there is none.</summary>
    public JsonElement? ManifestJson(string repository, string reference)
    {
        var key = reference.StartsWith("sha256:", StringComparison.Ordinal)
            ? _manifests.FirstOrDefault(m => m.Key.StartsWith(repository + ":", StringComparison.Ordinal) && Digest(m.Value.Content) == reference).Key
            : $"{repository}:{reference}";
        return key is not null && _manifests.TryGetValue(key, out var manifest) ? JsonDocument.Parse(manifest.Content).RootElement.Clone() : null;
    }

    /// <summary>A blob's bytes, or null.</summary>
    public byte[]? BlobBytes(string digest) => _blobs.GetValueOrDefault(digest);

    /// <summary>Puts a manifest as a client would have, under a tag or its digest (for a state a test starts from).</summary>
    public void PutManifest(string repository, string reference, string mediaType, byte[] content) => _manifests[$"{repository}:{reference}"] = (mediaType, content);

    /// <summary>Every request so far: method and path (with the query).</summary>
    public IReadOnlyList<(string Method, string Path)> Log => [.. _log];

    /// <summary>The digest a tag points at, or null.</summary>
    public string? TagDigest(string repository, string tag) =>
        _manifests.TryGetValue($"{repository}:{tag}", out var m) ? Digest(m.Content) : null;

    /// <summary>Forgets a blob everywhere, as a registry garbage collection would.</summary>
    public void Lose(string digest)
    {
        _blobs.TryRemove(digest, out _);
        foreach (var repository in _repositoryBlobs.Values)
        {
            repository.TryRemove(digest, out _);
        }
    }

    public void ClearLog() => _log.Clear();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        _log.Enqueue((request.Method.Method, uri.PathAndQuery));
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var response = Answer(request.Method, uri, body, request.Content?.Headers.ContentType?.MediaType);
        response.RequestMessage = request;
        return response;
    }

    private HttpResponseMessage Answer(HttpMethod method, Uri uri, byte[] body, string? contentType)
    {
        var path = uri.AbsolutePath;
        if (path == "/v2/")
        {
            return new HttpResponseMessage(HttpStatusCode.OK);
        }

        if (path.IndexOf("/referrers/", StringComparison.Ordinal) is var referrers and > 4)
        {
            return ReferrersApi && method == HttpMethod.Get ? Referrers(path[4..referrers], path[(referrers + "/referrers/".Length)..]) : new HttpResponseMessage(HttpStatusCode.NotFound);
        }

        var query = System.Web.HttpUtility.ParseQueryString(uri.Query);
        foreach (var (marker, handler) in new (string, Func<string, string, HttpMethod, string?, byte[], string?, HttpResponseMessage>)[]
        {
            ("/blobs/uploads/", Upload),
            ("/blobs/", Blob),
            ("/manifests/", Manifest),
        })
        {
            var at = path.IndexOf(marker, StringComparison.Ordinal);
            if (at > 4)
            {
                return handler(path[4..at], path[(at + marker.Length)..], method, query["digest"] ?? query["mount"], body, method == HttpMethod.Post ? query["from"] : contentType);
            }
        }

        return new HttpResponseMessage(HttpStatusCode.NotFound);
    }

    private HttpResponseMessage Blob(string repository, string digest, HttpMethod method, string? _, byte[] body, string? __)
    {
        if (!Has(repository, digest))
        {
            return new HttpResponseMessage(HttpStatusCode.NotFound);
        }

        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(method == HttpMethod.Head ? [] : _blobs[digest]) };
        response.Content.Headers.ContentLength = _blobs[digest].Length;
        response.Headers.Add("Docker-Content-Digest", digest);
        return response;
    }

    /// <param name="digestOrMount">The <c>digest</c> of a closing PUT, or the <c>mount</c> of a POST.</param>
    /// <param name="from">The <c>from</c> repository of a mount.</param>
    private HttpResponseMessage Upload(string repository, string id, HttpMethod method, string? digestOrMount, byte[] body, string? from)
    {
        if (method == HttpMethod.Post)
        {
            if (digestOrMount is { } mount && from is not null && Has(from, mount))
            {
                Add(repository, mount, _blobs[mount]);
                return Created(repository, mount);
            }

            var upload = Guid.NewGuid().ToString("N");
            _uploads[upload] = new MemoryStream();
            return Accepted(repository, upload, 0);
        }

        if (!_uploads.TryGetValue(id, out var received))
        {
            return new HttpResponseMessage(HttpStatusCode.NotFound);
        }

        if (method == HttpMethod.Get)
        {
            var status = Accepted(repository, id, received.Length);
            status.StatusCode = HttpStatusCode.NoContent;
            return status;
        }

        received.Write(body);
        if (method == HttpMethod.Patch)
        {
            return Accepted(repository, id, received.Length);
        }

        var bytes = received.ToArray();
        if (digestOrMount != Digest(bytes))
        {
            return new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = new StringContent("""{"errors":[{"code":"DIGEST_INVALID"}]}""") };
        }

        _uploads.TryRemove(id, out _);
        Add(repository, digestOrMount, bytes);
        return Created(repository, digestOrMount);
    }

    private HttpResponseMessage Manifest(string repository, string reference, HttpMethod method, string? _, byte[] body, string? contentType)
    {
        var key = reference.StartsWith("sha256:", StringComparison.Ordinal)
            ? _manifests.FirstOrDefault(m => m.Key.StartsWith(repository + ":", StringComparison.Ordinal) && Digest(m.Value.Content) == reference).Key
            : $"{repository}:{reference}";
        if (method == HttpMethod.Put)
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (RefusesArtifacts && root.TryGetProperty("subject", out var artifactSubject) && artifactSubject.ValueKind == JsonValueKind.Object)
            {
                return new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = new StringContent("""{"errors":[{"code":"MANIFEST_INVALID"}]}""") };
            }

            var index = root.TryGetProperty("manifests", out var manifests);
            var named = index
                ? manifests.EnumerateArray().Select(d => d.GetProperty("digest").GetString()!)
                : root.GetProperty("layers").EnumerateArray().Append(root.GetProperty("config")).Select(d => d.GetProperty("digest").GetString()!);
            if (named.Any(d => index ? !_manifests.Any(m => m.Key.StartsWith(repository + ":", StringComparison.Ordinal) && Digest(m.Value.Content) == d) : !Has(repository, d)))
            {
                return new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = new StringContent("""{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN"}]}""") };
            }

            _manifests[$"{repository}:{reference}"] = (contentType ?? string.Empty, body);
            var created = new HttpResponseMessage(HttpStatusCode.Created);
            created.Headers.Add("Docker-Content-Digest", Digest(body));
            if (ReferrersApi && root.TryGetProperty("subject", out var subject))
            {
                created.Headers.Add("OCI-Subject", subject.GetProperty("digest").GetString());
            }
            return created;
        }

        if (key is null || !_manifests.TryGetValue(key, out var manifest))
        {
            return new HttpResponseMessage(HttpStatusCode.NotFound);
        }

        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(method == HttpMethod.Head ? [] : manifest.Content) };
        response.Content.Headers.ContentLength = manifest.Content.Length;
        response.Content.Headers.TryAddWithoutValidation("Content-Type", manifest.MediaType);
        response.Headers.Add("Docker-Content-Digest", Digest(manifest.Content));
        return response;
    }

    /// <summary>The referrers API's answer: an index of the repository's manifests whose subject is <paramref name="subject"/>.</summary>
    private HttpResponseMessage Referrers(string repository, string subject)
    {
        var listed = new List<object>();
        foreach (var (key, manifest) in _manifests.Where(m => m.Key.StartsWith(repository + ":sha256:", StringComparison.Ordinal)).OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            using var document = JsonDocument.Parse(manifest.Content);
            var root = document.RootElement;
            if (root.TryGetProperty("subject", out var s) && s.GetProperty("digest").GetString() == subject)
            {
                listed.Add(new { mediaType = manifest.MediaType, digest = Digest(manifest.Content), size = manifest.Content.Length, artifactType = root.GetProperty("artifactType").GetString() });
            }
        }

        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(new { schemaVersion = 2, mediaType = "application/vnd.oci.image.index.v1+json", manifests = listed })) };
        response.Content.Headers.TryAddWithoutValidation("Content-Type", "application/vnd.oci.image.index.v1+json");
        return response;
    }

    private bool Has(string repository, string digest) =>
        _blobs.ContainsKey(digest) && _repositoryBlobs.TryGetValue(repository, out var blobs) && blobs.ContainsKey(digest);

    private void Add(string repository, string digest, byte[] bytes)
    {
        _blobs[digest] = bytes;
        _repositoryBlobs.GetOrAdd(repository, _ => new(StringComparer.Ordinal))[digest] = true;
    }

    private static HttpResponseMessage Created(string repository, string digest)
    {
        var response = new HttpResponseMessage(HttpStatusCode.Created);
        response.Headers.Location = new Uri($"/v2/{repository}/blobs/{digest}", UriKind.Relative);
        response.Headers.Add("Docker-Content-Digest", digest);
        return response;
    }

    private static HttpResponseMessage Accepted(string repository, string upload, long received)
    {
        var response = new HttpResponseMessage(HttpStatusCode.Accepted);
        response.Headers.Location = new Uri($"/v2/{repository}/blobs/uploads/{upload}", UriKind.Relative);
        response.Headers.Add("Range", $"0-{Math.Max(0, received - 1)}");
        response.Headers.Add("Docker-Upload-UUID", upload);
        return response;
    }

    private static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));
}
