using System.Diagnostics;
using System.Net;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Registry;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Registry;

/// <summary>
/// Every try has a deadline that only progress moves: a registry that never answers ends the try after the timeout,
/// an upload that keeps moving never does, however long it takes. (Real sockets: EndToEnd/Registry/SilentRegistryTests.)
/// </summary>
public sealed class RegistryTimeoutTests : IDisposable
{
    private static readonly RegistryHost Registry = RegistryHost.Parse("registry.example.com");
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(400);

    private readonly List<TimeSpan> _delays = [];
    private readonly RecordingLog _log = new();
    private RegistryConnection? _connection;

    public void Dispose() => _connection?.Dispose();

    /// <summary>An HTTP stack whose answer the test writes as code (it may wait, or read the body slowly).</summary>
    private sealed class SlowHandler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath == "/v2/")
            {
                return new HttpResponseMessage(HttpStatusCode.OK) { RequestMessage = request };
            }

            var response = await answer(request, cancellationToken);
            response.RequestMessage = request;
            return response;
        }
    }

    private async Task<DistributionClient> ConnectAsync(SlowHandler handler, TimeSpan? timeout = null)
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
        _connection = new RegistryConnection(handler, disposeTransport: true, Registry, "team/app", new CredentialStore(_ => null), InsecureRegistries.None, retry, trust: null, _log, timeout ?? Timeout);
        await _connection.ConnectAsync(CancellationToken.None);
        var client = _connection.Client;
        return client;
    }

    [Fact]
    public async Task RegistryThatNeverAnswersFailsEveryTryAtTheTimeoutThenIsNiximg033()
    {
        var client = await ConnectAsync(new SlowHandler(async (_, token) =>
        {
            await Task.Delay(System.Threading.Timeout.Infinite, token);
            throw new InvalidOperationException("unreachable");
        }));
        var stopwatch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<NixImageException>(() => client.BlobExistsAsync(new Descriptor(MediaTypes.OciLayerGzip, Digest.Of("x"u8), 1), CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryUnreachable, error.Code);
        Assert.Contains("no progress for 0.4 s", error.Message, StringComparison.Ordinal);
        Assert.Equal(_connection!.Retry.Policy.MaxAttempts - 1, _delays.Count);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
        // Each retry says what failed and what it waits for, at normal verbosity.
        Assert.Contains(_log.Lines, l => l.Contains("'check blob", StringComparison.Ordinal) && l.Contains("try 1 of", StringComparison.Ordinal) && l.Contains("trying again in", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UploadThatKeepsMovingOutlastsTheTimeout()
    {
        var content = new byte[400];
        var blob = new ImageBlob(new Descriptor(MediaTypes.OciLayerGzip, Digest.Of(content), content.Length), () => new MemoryStream(content, writable: false));
        var client = await ConnectAsync(
            new SlowHandler(async (request, token) =>
            {
                // Ten bytes every 100 ms: 4 s in all, twice the 2 s timeout, and never near 2 s without progress (a margin
                // that holds on a loaded machine, where 1 s did not).
                var body = await request.Content!.ReadAsStreamAsync(token);
                var buffer = new byte[10];
                while (await body.ReadAsync(buffer, token) > 0)
                {
                    await Task.Delay(100, token);
                }

                var created = new HttpResponseMessage(HttpStatusCode.Created);
                created.Headers.TryAddWithoutValidation("Docker-Content-Digest", blob.Descriptor.Digest.Value);
                return created;
            }),
            TimeSpan.FromSeconds(2));
        var stopwatch = Stopwatch.StartNew();

        await client.PutWholeBlobAsync(new Uri("https://registry.example.com/v2/team/app/blobs/uploads/1"), blob, _ => { }, CancellationToken.None);

        Assert.True(stopwatch.Elapsed > TimeSpan.FromSeconds(3), $"took only {stopwatch.Elapsed}");
        Assert.Empty(_delays);
    }
}
