using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Text.Json;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;

namespace Nixery.Build.Registry;

/// <summary>
/// The distribution API operations a push needs, for one repository of one registry, over an injected
/// <see cref="HttpClient"/>. Every request goes through <see cref="SendAsync"/>: authentication (one fresh
/// challenge answered per request), bounded retries with backoff for transient failures, a time limit per try,
/// and coded errors that name the registry, the request and the status. No header is ever logged.
/// </summary>
internal sealed class RegistryClient
{
    private readonly HttpClient _http;
    private readonly RegistryAuthenticator _auth;
    private readonly RetryPolicy _retry;
    private readonly TimeSpan _timeout;
    private readonly TlsTrust? _trust;
    private readonly InsecureRegistries _insecure;
    private readonly IBuildLog _log;
    private Uri? _baseUri;

    /// <param name="timeout">How long the registry may leave a try without progress: to accept the request body's next
    /// bytes, or to answer in full once it has them all (NixImageRegistryTimeout).</param>
    public RegistryClient(HttpClient http, RegistryHost registry, string repository, RegistryAuthenticator auth, RetryPolicy retry, TlsTrust? trust, InsecureRegistries insecure, IBuildLog log, TimeSpan? timeout = null)
    {
        _timeout = timeout ?? PushOptions.DefaultTimeout;
        _http = http;
        Registry = registry;
        Repository = repository;
        _auth = auth;
        _retry = retry;
        _trust = trust;
        _insecure = insecure;
        _log = log;
        _auth.Connect(SendAsync);
    }

    public RegistryHost Registry { get; }

    public string Repository { get; }

    public RetryPolicy Retry => _retry;

    /// <summary>https or http, once connected.</summary>
    public string Scheme => BaseUri.Scheme;

    private Uri BaseUri => _baseUri ?? throw new InvalidOperationException("Not connected.");

    private IReadOnlyList<string> PushScopes => [$"repository:{Repository}:pull,push"];

    /// <summary>
    /// Finds how to speak to the registry and whether it challenges: <c>GET /v2/</c> over HTTPS; for a registry on
    /// this machine or listed as insecure that does not speak TLS at all, over plain HTTP instead.
    /// </summary>
    /// <param name="knownScheme">The scheme this registry answered on last time (a hint, see <see cref="RegistryEndpoints"/>).</param>
    public async Task ConnectAsync(CancellationToken cancellationToken, string? knownScheme = null)
    {
        if (knownScheme == "http" && _insecure.AllowsHttp(Registry))
        {
            _baseUri = Registry.BaseUri("http");
            try
            {
                await PingAsync(retry: false, cancellationToken);
                return;
            }
            catch (Exception e) when (e is RegistryTransientException or NixImageException)
            {
                _log.Detail($"{Registry} no longer answers over plain HTTP ({e.Message}); finding out again");
            }
        }

        if (_insecure.AllowsHttp(Registry))
        {
            _baseUri = Registry.BaseUri("https");
            try
            {
                await PingAsync(retry: false, cancellationToken);
                return;
            }
            catch (RegistryTransientException e) when (e.Status is not null || _trust?.Seen(TlsTrust.HostOf(Registry)) is not null)
            {
                // A TLS server that failed this once: keep to HTTPS and try as usual.
                _log.Detail($"{Registry}: {e.What} failed ({e.Message}); trying again over HTTPS");
                await PingAsync(retry: true, cancellationToken);
                return;
            }
            catch (Exception e) when (e is RegistryTransientException || (e is NixImageException n && n.Code == ErrorCodes.RegistryCertificateUntrusted && _trust?.Seen(TlsTrust.HostOf(Registry)) is null))
            {
                // No TLS server there (it answered in plain HTTP, or not at all): plain HTTP is allowed for this registry.
                _log.Detail($"{Registry} does not speak TLS ({e.Message}); using plain HTTP, as allowed for {(Registry.IsLoopback ? "a registry on this machine" : "a registry listed as insecure")}.");
            }

            _baseUri = Registry.BaseUri("http");
        }
        else
        {
            _baseUri = Registry.BaseUri("https");
        }

        await PingAsync(retry: true, cancellationToken);
    }

    private async Task PingAsync(bool retry, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(
            new RegistryRequest("check the API (GET /v2/)", () => new HttpRequestMessage(HttpMethod.Get, new Uri(BaseUri, "v2/"))) { Authenticate = false, Retry = retry },
            cancellationToken);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            _auth.Challenged(response, sent: null);
            return;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await FailedAsync(response, "check the API (GET /v2/)", attempts: 1, "Check that ContainerRegistry names an OCI distribution registry (it must answer /v2/).");
        }
    }

    /// <summary>HEAD the blob: true when the repository holds it (with the right size).</summary>
    public async Task<bool> BlobExistsAsync(Descriptor blob, CancellationToken cancellationToken)
    {
        var what = $"check blob {Short(blob.Digest)}";
        using var response = await SendAsync(new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Head, Api($"blobs/{blob.Digest}"))) { Scopes = PushScopes }, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await FailedAsync(response, what, 1);
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
            new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Post, uri) { Content = Empty() }) { Scopes = [.. PushScopes, $"repository:{source}:pull"] },
            cancellationToken);
        if (response.StatusCode == HttpStatusCode.Created)
        {
            return null;
        }

        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            return Location(response);
        }

        throw await FailedAsync(response, what, 1);
    }

    /// <summary>Starts an upload (<c>POST /v2/&lt;name&gt;/blobs/uploads/</c>); returns where to send the bytes.</summary>
    public async Task<Uri> StartUploadAsync(Descriptor blob, CancellationToken cancellationToken)
    {
        var what = $"start upload of {Short(blob.Digest)}";
        using var response = await SendAsync(
            new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Post, Api("blobs/uploads/")) { Content = Empty() }) { Scopes = PushScopes },
            cancellationToken);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw await FailedAsync(response, what, 1);
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
                Scopes = PushScopes,
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
                Scopes = PushScopes,
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
            throw await FailedAsync(response, what, 1);
        }

        var received = ByteRange.ReceivedLength(Header(response, "Range")) ?? offset + length;
        return (Location(response, fallback: location), received);
    }

    /// <summary>Where an upload stands (<c>GET</c> on its location): the next location and the bytes held; null when the registry no longer knows it.</summary>
    public async Task<(Uri Location, long Received)?> UploadStatusAsync(Uri location, Descriptor blob, CancellationToken cancellationToken)
    {
        var what = $"check upload of {Short(blob.Digest)}";
        using var response = await SendAsync(new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Get, location)) { Scopes = PushScopes }, cancellationToken);
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
        using var response = await SendAsync(new RegistryRequest(what, () => new HttpRequestMessage(HttpMethod.Put, uri) { Content = Empty() }) { Scopes = PushScopes }, cancellationToken);
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
            new RegistryRequest(what, () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Head, Api($"manifests/{tag}"));
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaTypes.OciManifest));
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaTypes.DockerManifest));
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(MediaTypes.OciIndex));
                return request;
            })
            { Scopes = PushScopes },
            cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await FailedAsync(response, what, 1);
        }

        return Digest.TryParse(Header(response, "Docker-Content-Digest"), out var digest) ? digest : null;
    }

    /// <summary>PUTs the manifest under a tag, with its media type, and checks the digest the registry reports.</summary>
    public async Task PutManifestAsync(ImageBlob manifest, string tag, CancellationToken cancellationToken)
    {
        var what = $"push manifest for tag {tag}";
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
                return new HttpRequestMessage(HttpMethod.Put, Api($"manifests/{tag}")) { Content = content };
            })
            { Scopes = PushScopes },
            cancellationToken);
        if (response.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.OK or HttpStatusCode.Accepted))
        {
            throw await FailedAsync(response, what, 1, "Check that the registry accepts OCI image manifests.");
        }

        CheckDigest(response, manifest.Descriptor.Digest, what);
    }

    /// <summary>
    /// Sends a request: answers a 401 challenge once (with fresh credentials or token), retries transient
    /// failures with the policy's backoff (or throws <see cref="RegistryTransientException"/> when the request
    /// does not retry), and returns any other answer for the caller to judge.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(RegistryRequest request, CancellationToken cancellationToken)
    {
        var failures = 0;
        var challengesAnswered = 0;
        while (true)
        {
            HttpResponseMessage? response = null;
            Exception? error = null;
            AuthenticationHeaderValue? sent = null;
            using (var message = request.Create())
            {
                if (request.Authenticate)
                {
                    sent = await _auth.AuthorizationAsync(request.Scopes, cancellationToken);
                    message.Headers.Authorization = sent;
                }

                message.Headers.UserAgent.ParseAdd("Nixery.Build");
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(_timeout);
                request.Activity?.Watch(deadline, _timeout);
                try
                {
                    // The whole answer is read before this returns (the default completion): the deadline covers it.
                    response = await _http.SendAsync(message, deadline.Token);
                }
                catch (Exception e) when (RetryPolicy.IsTlsFailure(e))
                {
                    throw Untrusted(e);
                }
                catch (Exception e) when (RetryPolicy.IsRetryable(e, cancellationToken))
                {
                    error = deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested
                        ? new TimeoutException($"no progress for {_timeout.TotalSeconds:0.#} s", e)
                        : e;
                }
            }

            if (response is not null)
            {
                if (request.Authenticate && response.StatusCode == HttpStatusCode.Unauthorized && challengesAnswered == 0)
                {
                    challengesAnswered++;
                    _auth.Challenged(response, sent);
                    response.Dispose();
                    continue;
                }

                if (request.Authenticate && response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    var status = response.StatusCode;
                    response.Dispose();
                    throw _auth.Rejected(await _auth.CredentialAsync(cancellationToken), status, "push to");
                }

                if (!RetryPolicy.IsRetryable(response.StatusCode))
                {
                    return response;
                }
            }

            failures++;
            var retryAfter = response is null ? null : _retry.RetryAfter(response.Headers.RetryAfter);
            var transient = new RegistryTransientException(request.What, response?.StatusCode, response?.ReasonPhrase, retryAfter, error);
            if (!request.Retry)
            {
                response?.Dispose();
                throw transient;
            }

            if (failures >= _retry.MaxAttempts)
            {
                using (response)
                {
                    throw response is null ? GiveUp(transient, failures) : await FailedAsync(response, request.What, failures);
                }
            }

            response?.Dispose();
            await WaitAsync(transient, failures, cancellationToken);
        }
    }

    /// <summary>Waits as the policy says after the <paramref name="failures"/>-th failed try, and says so in the detailed log.</summary>
    public async Task WaitAsync(RegistryTransientException failure, int failures, CancellationToken cancellationToken)
    {
        var wait = _retry.DelayAfter(failures, failure.RetryAfter);
        _log.Info($"  {Registry}: '{failure.What}' failed ({failure.Message}), try {failures} of {_retry.MaxAttempts}; trying again in {wait.TotalSeconds:0.0} s");
        await _retry.Delay(wait, cancellationToken);
    }

    /// <summary>The error after the last try of a request that never got a usable answer.</summary>
    public NixImageException GiveUp(RegistryTransientException failure, int attempts)
    {
        if (failure.Status is { } status)
        {
            return new NixImageException(
                ErrorCodes.RegistryRequestFailed,
                $"The registry {Registry} answered {failure.Message} to '{failure.What}' for {Repository}, {Tries(attempts)}. {RemedyFor(status)} Nothing was tagged: the image's tags still point where they did.");
        }

        return new NixImageException(
            ErrorCodes.RegistryUnreachable,
            $"The registry {Registry} could not be reached to '{failure.What}' for {Repository} ({failure.Message}), {Tries(attempts)}. Check that it runs at {BaseUri.GetLeftPart(UriPartial.Authority)} and that the network lets this machine reach it. Nothing was tagged: the image's tags still point where they did.");
    }

    private async Task<NixImageException> FailedAsync(HttpResponseMessage response, string what, int attempts, string? remedy = null)
    {
        var detail = await ErrorDetailAsync(response);
        var status = $"{(int)response.StatusCode} {response.ReasonPhrase ?? response.StatusCode.ToString()}";
        return new NixImageException(
            ErrorCodes.RegistryRequestFailed,
            $"The registry {Registry} answered {status}{detail} to '{what}' for {Repository}{(attempts > 1 ? ", " + Tries(attempts) : string.Empty)}. {remedy ?? RemedyFor(response.StatusCode)} Nothing was tagged: the image's tags still point where they did.");
    }

    private static string Tries(int attempts) => attempts == 1 ? "on the only try" : $"after {attempts} tries";

    private static string RemedyFor(HttpStatusCode status) => (int)status >= 500 || status == HttpStatusCode.TooManyRequests
        ? "The registry is failing or overloaded: try again later, or check its logs."
        : "Check the repository name and the registry's limits and configuration.";

    private NixImageException Untrusted(Exception e)
    {
        // Our own callback's verdict says more than the exception ("rejected by the provided callback").
        var why = _trust?.Seen(TlsTrust.HostOf(Registry)) switch
        {
            { } seen when seen.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch) => $"it is not issued for {Registry.Host}",
            { } seen when seen.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors) => "it is not signed by a certificate authority this machine trusts",
            { } seen when seen.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable) => "the registry presented none",
            _ => Innermost(e).Message,
        };
        return new NixImageException(
            ErrorCodes.RegistryCertificateUntrusted,
            $"The TLS certificate of the registry {Registry} is not trusted: {why.TrimEnd('.')}. "
            + "Add its CA to the system's trust store, or point SSL_CERT_FILE (a PEM bundle) or SSL_CERT_DIR at it; for a test registry, list it in ContainerInsecureRegistries.");
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }

    private async Task ExpectBlobCreatedAsync(HttpResponseMessage response, Digest digest, string what)
    {
        if (response.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.NoContent or HttpStatusCode.OK))
        {
            throw await FailedAsync(response, what, 1);
        }

        CheckDigest(response, digest, what);
    }

    private void CheckDigest(HttpResponseMessage response, Digest expected, string what)
    {
        var reported = Header(response, "Docker-Content-Digest");
        if (reported is not null && reported != expected.Value)
        {
            throw new NixImageException(
                ErrorCodes.RegistryDigestMismatch,
                $"The registry {Registry} stored '{what}' for {Repository} as {reported}, but Nixery.Build sent {expected}. The bytes changed on the way (a proxy rewriting them?) or the registry is faulty; push again, and check what sits between this machine and the registry.");
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
            return UploadLocation.Resolve(response.RequestMessage?.RequestUri ?? BaseUri, header);
        }
        catch (FormatException e)
        {
            throw new NixImageException(ErrorCodes.RegistryRequestFailed, $"The registry {Registry} answered an upload request for {Repository} without a usable Location ({e.Message}) Check that it implements the OCI distribution API.");
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

    private static async Task<string> ErrorDetailAsync(HttpResponseMessage response)
    {
        try
        {
            var body = await response.Content.ReadAsByteArrayAsync();
            if (body.Length == 0 || body.Length > 64 * 1024)
            {
                return string.Empty;
            }

            using var document = JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
            {
                var parts = errors.EnumerateArray()
                    .Select(e => $"{Text(e, "code")}: {Text(e, "message")}".Trim(' ', ':'))
                    .Where(p => p.Length > 0)
                    .Take(3)
                    .ToList();
                return parts.Count == 0 ? string.Empty : " (" + string.Join("; ", parts) + ")";
            }
        }
        catch (Exception e) when (e is JsonException or HttpRequestException or IOException)
        {
            // Not the distribution API's error document: the status says enough.
        }

        return string.Empty;

        static string Text(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : string.Empty;
    }

    private Uri Api(string path) => new(BaseUri, $"v2/{Repository}/{path}");

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
            new BlobSlice(blob.Open(), offset, length, sent =>
            {
                activity.Progressed();
                progress(sent);
            }),
            1 << 16);
        content.Headers.ContentLength = length;
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    // Enough time for a slow line (256 kB/s) on top of a minute.

    internal static string Short(Digest digest) => digest.Value[..19];
}
