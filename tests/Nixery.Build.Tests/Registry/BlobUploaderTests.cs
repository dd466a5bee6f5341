using System.Net;
using Nixery.Build.Oci;
using Nixery.Build.Registry;
using Nixery.Build.Streams;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Registry;

/// <summary>
/// One blob's way into a repository against a scripted registry that keeps an upload session: chunks with
/// Content-Range, a broken chunk resumed from the registry's Range, a lost upload started again, a whole-blob PUT
/// whose answer was lost but which landed. Waits are recorded, never slept.
/// </summary>
public sealed class BlobUploaderTests : IDisposable
{
    private static readonly RegistryHost Registry = RegistryHost.Parse("registry.example.com");
    private static readonly byte[] Content = [.. Enumerable.Range(0, 25).Select(i => (byte)i)];
    private static readonly ImageBlob Blob = new(new Descriptor(MediaTypes.OciLayerGzip, Digest.Of(Content), Content.Length), () => new MemoryStream(Content, writable: false));

    private readonly List<TimeSpan> _delays = [];
    private readonly RecordingLog _log = new();
    private readonly List<string> _trace = [];
    private RegistryConnection? _connection;

    public void Dispose() => _connection?.Dispose();

    private async Task<BlobOutcome> PushAsync(Func<HttpRequestMessage, string, HttpResponseMessage?> registry, long wholeUploadLimit = 10, BlobLocations? locations = null, ImageBlob? blob = null)
    {
        var handler = new ScriptedHandler((request, _) =>
        {
            var range = request.Content?.Headers.TryGetValues("Content-Range", out var values) == true ? " " + values.First() : string.Empty;
            var line = $"{request.Method} {request.RequestUri!.PathAndQuery}{range}";
            lock (_trace)
            {
                _trace.Add(line);
            }

            if (request.RequestUri.AbsolutePath == "/v2/")
            {
                return ScriptedHandler.Status(HttpStatusCode.OK);
            }

            return registry(request, line) ?? throw new InvalidOperationException("unexpected " + line);
        });
        _connection?.Dispose();
        var retry = new RetryPolicy
        {
            Jitter = () => 0,
            Delay = (delay, _) =>
            {
                _delays.Add(delay);
                return Task.CompletedTask;
            },
        };
        _connection = new RegistryConnection(handler, disposeTransport: true, Registry, "team/app", new CredentialStore(_ => null), InsecureRegistries.None, retry, trust: null, _log);
        await _connection.ConnectAsync(CancellationToken.None);
        var client = _connection.Client;
        var options = new PushOptions { WholeUploadLimit = wholeUploadLimit, ChunkSize = 10, Retry = retry };
        return await new BlobUploader(_connection, locations, options, _log).PushAsync(blob ?? Blob, "layer 1/1", CancellationToken.None);
    }

    private static HttpResponseMessage Accepted(string location, long? received = null)
    {
        var response = ScriptedHandler.Status(HttpStatusCode.Accepted);
        response.Headers.Location = new Uri(location, UriKind.RelativeOrAbsolute);
        if (received is { } r)
        {
            response.Headers.TryAddWithoutValidation("Range", $"0-{r - 1}");
        }

        return response;
    }

    private static HttpResponseMessage Created()
    {
        var response = ScriptedHandler.Status(HttpStatusCode.Created);
        response.Headers.TryAddWithoutValidation("Docker-Content-Digest", Blob.Descriptor.Digest.Value);
        return response;
    }

    [Fact]
    public async Task ABlobInPlaceIsNotSent()
    {
        var outcome = await PushAsync((request, _) => request.Method == HttpMethod.Head
            ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Content) }
            : null);
        Assert.Equal(BlobOutcome.AlreadyThere, outcome);
        Assert.Contains(_log.Lines, l => l.EndsWith("already in the registry, skipped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ALargeBlobGoesInChunksFollowingEachLocationAndABrokenChunkResumesFromTheRegistrysRange()
    {
        long held = 0;
        var patches = 0;
        var outcome = await PushAsync((request, line) =>
        {
            switch (request.Method.Method)
            {
                case "HEAD":
                    return ScriptedHandler.Status(HttpStatusCode.NotFound);
                case "POST":
                    return Accepted("/v2/team/app/blobs/uploads/u1?_state=0");
                case "PATCH" when ++patches == 2:
                    throw new HttpRequestException("reset", new IOException("Connection reset by peer"));
                case "PATCH":
                    held += request.Content!.Headers.ContentLength!.Value;
                    // Absolute and relative Locations both occur in the wild.
                    return Accepted(held < 20 ? $"https://registry.example.com/v2/team/app/blobs/uploads/u1?_state={held}" : $"u1?_state={held}", held);
                case "GET":
                    var status = Accepted($"/v2/team/app/blobs/uploads/u1?_state={held}-status", held);
                    status.StatusCode = HttpStatusCode.NoContent;
                    return status;
                case "PUT" when line.Contains($"digest={Uri.EscapeDataString(Blob.Descriptor.Digest.Value)}", StringComparison.Ordinal):
                    return held == Content.Length ? Created() : ScriptedHandler.Status(HttpStatusCode.BadRequest);
                default:
                    return null;
            }
        });

        Assert.Equal(BlobOutcome.Uploaded, outcome);
        Assert.Equal(
            [
                "GET /v2/",
                $"HEAD /v2/team/app/blobs/{Blob.Descriptor.Digest}",
                "POST /v2/team/app/blobs/uploads/",
                "PATCH /v2/team/app/blobs/uploads/u1?_state=0 0-9",
                "PATCH /v2/team/app/blobs/uploads/u1?_state=10 10-19",
                "GET /v2/team/app/blobs/uploads/u1?_state=10",
                "PATCH /v2/team/app/blobs/uploads/u1?_state=10-status 10-19",
                "PATCH /v2/team/app/blobs/uploads/u1?_state=20 20-24",
                $"PUT /v2/team/app/blobs/uploads/u1?_state=25&digest={Uri.EscapeDataString(Blob.Descriptor.Digest.Value)}",
            ],
            _trace);
        Assert.Equal([TimeSpan.FromSeconds(0.25)], _delays);
    }

    [Fact]
    public async Task AnUploadTheRegistryLostStartsAgainFromTheFirstByte()
    {
        var sessions = 0;
        var brokeOnce = false;
        long held = 0;
        await PushAsync((request, _) =>
        {
            switch (request.Method.Method)
            {
                case "HEAD":
                    return ScriptedHandler.Status(HttpStatusCode.NotFound);
                case "POST":
                    held = 0;
                    return Accepted($"/v2/team/app/blobs/uploads/s{++sessions}");
                case "PATCH" when held == 10 && !brokeOnce:
                    brokeOnce = true;
                    return ScriptedHandler.Status(HttpStatusCode.InternalServerError);
                case "PATCH":
                    held += request.Content!.Headers.ContentLength!.Value;
                    return Accepted($"/v2/team/app/blobs/uploads/s{sessions}", held);
                case "GET":
                    return ScriptedHandler.Status(HttpStatusCode.NotFound, """{"errors":[{"code":"BLOB_UPLOAD_UNKNOWN"}]}""");
                case "PUT":
                    return Created();
                default:
                    return null;
            }
        });

        Assert.Equal(2, sessions);
        Assert.Equal(
            ["0-9", "10-19", "0-9", "10-19", "20-24"],
            _trace.Where(t => t.StartsWith("PATCH", StringComparison.Ordinal)).Select(t => t.Split(' ')[^1]));
    }

    [Fact]
    public async Task AWholeUploadWhoseAnswerWasLostIsNotSentTwice()
    {
        var landed = false;
        var outcome = await PushAsync(
            (request, _) =>
            {
                switch (request.Method.Method)
                {
                    case "HEAD":
                        return landed ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Content) } : ScriptedHandler.Status(HttpStatusCode.NotFound);
                    case "POST":
                        return Accepted("/v2/team/app/blobs/uploads/w1");
                    case "PUT":
                        landed = true;
                        throw new HttpRequestException("reset", new IOException("Connection reset by peer"));
                    default:
                        return null;
                }
            },
            wholeUploadLimit: 1024);

        Assert.Equal(BlobOutcome.Uploaded, outcome);
        Assert.Single(_trace, t => t.StartsWith("PUT", StringComparison.Ordinal));
        Assert.Single(_trace, t => t.StartsWith("POST", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AKnownSourceRepositoryIsMountedAndARefusedMountFallsBackToAnUpload()
    {
        using var cache = new TempDirectory();
        var locations = BlobLocations.Load(cache.Path);
        locations.Remember(Registry.Name, "team/base", [Blob.Descriptor.Digest]);

        var outcome = await PushAsync(
            (request, line) => request.Method.Method switch
            {
                "HEAD" => ScriptedHandler.Status(HttpStatusCode.NotFound),
                "POST" when line.Contains("mount=", StringComparison.Ordinal) && line.Contains("from=team%2Fbase", StringComparison.Ordinal) => Created(),
                _ => null,
            },
            locations: locations);
        Assert.Equal(BlobOutcome.Mounted, outcome);

        _trace.Clear();
        outcome = await PushAsync(
            (request, line) => request.Method.Method switch
            {
                "HEAD" => ScriptedHandler.Status(HttpStatusCode.NotFound),
                // The registry could not mount: it starts an ordinary upload instead, which is used.
                "POST" when line.Contains("mount=", StringComparison.Ordinal) => Accepted("/v2/team/app/blobs/uploads/m1"),
                "PUT" => Created(),
                _ => null,
            },
            wholeUploadLimit: 1024,
            locations: locations);
        Assert.Equal(BlobOutcome.Uploaded, outcome);
        Assert.Single(_trace, t => t.StartsWith("POST", StringComparison.Ordinal));
        Assert.Contains(_trace, t => t.StartsWith("PUT /v2/team/app/blobs/uploads/m1?digest=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BlobWhoseBytesChangedOnDiskIsNeverUploaded()
    {
        // The descriptor names the original bytes; the file now holds others of the same length.
        var damaged = Content.ToArray();
        damaged[12] ^= 0xFF;
        var blob = Blob with { Open = () => new MemoryStream(damaged, writable: false) };

        await Assert.ThrowsAsync<DamagedBlobException>(() => PushAsync(
            (request, line) => request.Method == HttpMethod.Head ? ScriptedHandler.Status(HttpStatusCode.NotFound) : null,
            blob: blob));

        Assert.All(_trace, line => Assert.True(line.StartsWith("HEAD ", StringComparison.Ordinal) || line.StartsWith("GET /v2/", StringComparison.Ordinal), line));
    }
}
