using System.Net;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Registry;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Registry;

/// <summary>
/// Each handler of the chain on its own terms, over an in-process fake transport (no sockets):
/// <code>
/// RetryHandler → AuthenticationHandler → SchemeFallbackHandler → ProgressTimeoutHandler → fake transport
/// </code>
/// </summary>
public sealed class HandlerChainTests : IDisposable
{
    private static readonly RegistryHost Remote = RegistryHost.Parse("registry.example.com");
    private static readonly RegistryHost Listed = RegistryHost.Parse("registry.internal:5000");
    private static readonly Descriptor Blob = new(MediaTypes.OciLayerGzip, Digest.Of("layer"u8), 5);

    private readonly List<TimeSpan> _delays = [];
    private readonly RecordingLog _log = new();
    private readonly List<RegistryConnection> _connections = [];

    public void Dispose() => _connections.ForEach(c => c.Dispose());

    private RegistryConnection Connect(HttpMessageHandler transport, RegistryHost? registry = null, InsecureRegistries? insecure = null, Dictionary<string, string?>? environment = null)
    {
        var retry = new RetryPolicy
        {
            Jitter = () => 0,
            Delay = (delay, _) =>
            {
                _delays.Add(delay);
                return Task.CompletedTask;
            },
        };
        var connection = new RegistryConnection(
            transport,
            disposeTransport: true,
            registry ?? Remote,
            "team/app",
            new CredentialStore(name => environment?.GetValueOrDefault(name)),
            insecure ?? InsecureRegistries.None,
            retry,
            trust: null,
            _log);
        _connections.Add(connection);
        return connection;
    }

    /// <summary>A transport where nothing listens on HTTPS: every https request is refused.</summary>
    private static ScriptedHandler PlainHttpOnly(Func<HttpRequestMessage, HttpResponseMessage> answer) => new((request, _) =>
        request.RequestUri!.Scheme == "https"
            ? throw new HttpRequestException("refused", new IOException("Connection refused"))
            : answer(request));

    [Fact]
    public async Task SchemeFallsBackToHttpForAListedRegistryThatDoesNotSpeakTls()
    {
        var transport = PlainHttpOnly(request => ScriptedHandler.Status(request.RequestUri!.AbsolutePath == "/v2/" ? HttpStatusCode.OK : HttpStatusCode.NotFound));
        var connection = Connect(transport, Listed, InsecureRegistries.Parse(null, "registry.internal:5000"));

        await connection.ConnectAsync(CancellationToken.None);
        Assert.False(await connection.Client.BlobExistsAsync(Blob, CancellationToken.None));

        Assert.Equal("http", connection.Scheme);
        Assert.Equal(["https://registry.internal:5000/v2/", "http://registry.internal:5000/v2/", "http://registry.internal:5000/v2/team/app/blobs/" + Blob.Digest], transport.Seen.Select(r => r.Uri.AbsoluteUri));
        Assert.Empty(_delays);
    }

    [Fact]
    public async Task SchemeStaysHttpsForARegistryNotListedAsInsecure()
    {
        var transport = PlainHttpOnly(_ => ScriptedHandler.Status(HttpStatusCode.OK));
        var connection = Connect(transport);

        var error = await Assert.ThrowsAsync<NixImageException>(() => connection.ConnectAsync(CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryUnreachable, error.Code);
        Assert.Contains("https://registry.example.com", error.Message, StringComparison.Ordinal);
        Assert.All(transport.Seen, r => Assert.Equal("https", r.Uri.Scheme));
        Assert.Equal(5, transport.Seen.Count);
    }

    [Fact]
    public async Task SchemeRememberedAsHttpIsTriedFirst()
    {
        var transport = PlainHttpOnly(_ => ScriptedHandler.Status(HttpStatusCode.OK));
        var connection = Connect(transport, Listed, InsecureRegistries.Parse(null, "registry.internal:5000"));

        await connection.ConnectAsync(CancellationToken.None, knownScheme: "http");

        Assert.Equal("http", connection.Scheme);
        Assert.Equal("http://registry.internal:5000/v2/", Assert.Single(transport.Seen).Uri.AbsoluteUri);
    }

    [Fact]
    public async Task BearerChallengeIsAnsweredOnceWithATokenFromTheTokenServiceAndTheTokenIsCached()
    {
        var transport = new ScriptedHandler((request, _) =>
        {
            if (request.RequestUri!.Host == "auth.example.com")
            {
                return ScriptedHandler.Status(HttpStatusCode.OK, """{"token":"tok-1","expires_in":300}""");
            }

            if (request.RequestUri.AbsolutePath == "/v2/" || request.Headers.Authorization?.ToString() != "Bearer tok-1")
            {
                var challenge = ScriptedHandler.Status(HttpStatusCode.Unauthorized);
                challenge.Headers.TryAddWithoutValidation("WWW-Authenticate", """Bearer realm="https://auth.example.com/token",service="registry.example.com" """);
                return challenge;
            }

            return ScriptedHandler.Status(HttpStatusCode.NotFound);
        });
        var connection = Connect(transport);

        await connection.ConnectAsync(CancellationToken.None);
        Assert.False(await connection.Client.BlobExistsAsync(Blob, CancellationToken.None));
        Assert.False(await connection.Client.BlobExistsAsync(Blob, CancellationToken.None));

        Assert.True(connection.Challenge?.IsBearer);
        Assert.Single(transport.Seen, r => r.Uri.Host == "auth.example.com");
        Assert.Equal(2, transport.Seen.Count(r => r.Method == HttpMethod.Head && r.Authorization == "Bearer tok-1"));
        Assert.DoesNotContain(transport.Seen, r => r.Method == HttpMethod.Head && r.Authorization is null);
        Assert.Empty(_delays);
    }

    [Fact]
    public async Task A401AfterTheChallengeWasAnsweredIsNIXIMG031NotAnotherTry()
    {
        var transport = new ScriptedHandler((request, _) =>
        {
            if (request.RequestUri!.Host == "auth.example.com")
            {
                return ScriptedHandler.Status(HttpStatusCode.OK, """{"token":"tok-1"}""");
            }

            var challenge = ScriptedHandler.Status(HttpStatusCode.Unauthorized);
            challenge.Headers.TryAddWithoutValidation("WWW-Authenticate", """Bearer realm="https://auth.example.com/token" """);
            return challenge;
        });
        var connection = Connect(transport);
        await connection.ConnectAsync(CancellationToken.None);

        var error = await Assert.ThrowsAsync<NixImageException>(() => connection.Client.BlobExistsAsync(Blob, CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryAuthenticationFailed, error.Code);
        Assert.Equal(2, transport.Seen.Count(r => r.Method == HttpMethod.Head));
        Assert.Empty(_delays);
    }

    [Fact]
    public async Task A503IsTriedAgainThenTheAnswerIsReturned()
    {
        var heads = 0;
        var transport = new ScriptedHandler((request, _) =>
            request.RequestUri!.AbsolutePath == "/v2/" ? ScriptedHandler.Status(HttpStatusCode.OK)
            : ++heads == 1 ? ScriptedHandler.Status(HttpStatusCode.ServiceUnavailable)
            : ScriptedHandler.Status(HttpStatusCode.NotFound));
        var connection = Connect(transport);
        await connection.ConnectAsync(CancellationToken.None);

        Assert.False(await connection.Client.BlobExistsAsync(Blob, CancellationToken.None));

        Assert.Equal(2, heads);
        Assert.Single(_delays);
        Assert.Contains(_log.Lines, l => l.Contains("try 1 of 5", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A404IsAnAnswerAndNotTriedAgain()
    {
        var transport = new ScriptedHandler((request, _) => request.RequestUri!.AbsolutePath == "/v2/"
            ? ScriptedHandler.Status(HttpStatusCode.OK)
            : ScriptedHandler.Status(HttpStatusCode.NotFound));
        var connection = Connect(transport);
        await connection.ConnectAsync(CancellationToken.None);

        Assert.Null(await connection.Client.ManifestDigestAsync("latest", CancellationToken.None));

        Assert.Single(transport.Seen, r => r.Method == HttpMethod.Head);
        Assert.Empty(_delays);
    }

    [Fact]
    public async Task AHeadAnswerForABlobLargerThanAnyDocumentIsAnAnswerNotAnOversizedOne()
    {
        // A registry answers HEAD with the blob's size as Content-Length and no body: not an answer past 4 MiB.
        var large = Blob with { Size = 60_000_000 };
        var transport = new ScriptedHandler((request, _) =>
        {
            var answer = ScriptedHandler.Status(HttpStatusCode.OK);
            answer.Content = new ByteArrayContent([]);
            answer.Content.Headers.ContentLength = request.RequestUri!.AbsolutePath == "/v2/" ? 0 : large.Size;
            return answer;
        });
        var connection = Connect(transport);
        await connection.ConnectAsync(CancellationToken.None);

        Assert.True(await connection.Client.BlobExistsAsync(large, CancellationToken.None));
    }

    [Fact]
    public async Task ARequestBodyIsOpenedAgainForEveryTry()
    {
        var content = "blob bytes"u8.ToArray();
        var opened = 0;
        var transport = new ScriptedHandler((_, count) => ScriptedHandler.Status(count < 2 ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.Created));
        var errors = new RegistryErrors(Remote, "team/app", trust: null, () => "https");
        var retry = new RetryPolicy { Jitter = () => 0, Delay = (_, _) => Task.CompletedTask };
        using var chain = new HttpMessageInvoker(new RetryHandler(Remote, retry, errors, _log, transport));
        var request = new RegistryRequest("upload blob", () =>
        {
            Interlocked.Increment(ref opened);
            var body = new Nixery.Build.Streams.WindowStream(new MemoryStream(content, writable: false), 0, content.Length, _ => { });
            return new HttpRequestMessage(HttpMethod.Put, "https://registry.example.com/v2/team/app/blobs/uploads/u1") { Content = new StreamContent(body) };
        });

        using var message = request.CreateMessage();
        using var response = await chain.SendAsync(message, CancellationToken.None);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(3, opened);
        Assert.Equal(["blob bytes", "blob bytes", "blob bytes"], transport.Seen.Select(r => r.Body));
    }

    [Fact]
    public async Task AnUploadBodyIsAWindowOpenedAfreshOnEveryTryOfTheUploader()
    {
        var content = new byte[25];
        var opened = 0;
        var blob = new ImageBlob(new Descriptor(MediaTypes.OciLayerGzip, Digest.Of(content), content.Length), () =>
        {
            Interlocked.Increment(ref opened);
            return new MemoryStream(content, writable: false);
        });
        var patches = 0;
        var transport = new ScriptedHandler((request, _) =>
        {
            switch (request.Method.Method)
            {
                case "GET" when request.RequestUri!.AbsolutePath == "/v2/":
                    return ScriptedHandler.Status(HttpStatusCode.OK);
                case "POST":
                    var started = ScriptedHandler.Status(HttpStatusCode.Accepted);
                    started.Headers.Location = new Uri("/v2/team/app/blobs/uploads/u1", UriKind.Relative);
                    return started;
                case "PATCH" when ++patches == 1:
                    return ScriptedHandler.Status(HttpStatusCode.ServiceUnavailable);
                case "PATCH":
                    var accepted = ScriptedHandler.Status(HttpStatusCode.Accepted);
                    accepted.Headers.Location = new Uri("/v2/team/app/blobs/uploads/u1", UriKind.Relative);
                    accepted.Headers.TryAddWithoutValidation("Range", "0-24");
                    return accepted;
                case "GET":
                    return ScriptedHandler.Status(HttpStatusCode.NotFound);
                case "HEAD":
                    return ScriptedHandler.Status(HttpStatusCode.NotFound);
                default:
                    var created = ScriptedHandler.Status(HttpStatusCode.Created);
                    created.Headers.TryAddWithoutValidation("Docker-Content-Digest", blob.Descriptor.Digest.Value);
                    return created;
            }
        });
        var connection = Connect(transport);
        await connection.ConnectAsync(CancellationToken.None);
        var options = new PushOptions { WholeUploadLimit = 10, ChunkSize = 25, Retry = connection.Retry.Policy };

        var outcome = await new BlobUploader(connection, null, options, _log).PushAsync(blob, "layer 1/1", CancellationToken.None);

        Assert.Equal(BlobOutcome.Uploaded, outcome);
        Assert.Equal(2, patches);
        // Once to check it whole before sending, once per PATCH.
        Assert.Equal(3, opened);
    }
}
