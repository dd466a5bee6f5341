using System.Net;
using System.Text;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Registry;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Registry;

/// <summary>
/// The client's decisions against a scripted HTTP stack: which failures are tried again and how long it waits
/// (the delay is recorded, never slept), how a challenge is answered, what the errors say.
/// </summary>
public sealed class RegistryClientTests : IDisposable
{
    private static readonly RegistryHost Registry = RegistryHost.Parse("registry.example.com");
    private static readonly Descriptor Blob = new(MediaTypes.OciLayerGzip, Digest.Of("layer"u8), 5);

    private readonly List<TimeSpan> _delays = [];
    private readonly Dictionary<string, string?> _environment = new(StringComparer.Ordinal);
    private readonly RecordingLog _log = new();
    private RegistryConnection? _connection;

    public void Dispose() => _connection?.Dispose();

    private async Task<DistributionClient> ConnectAsync(ScriptedHandler handler)
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
        _connection = new RegistryConnection(handler, disposeTransport: true, Registry, "team/app", new CredentialStore(name => _environment.GetValueOrDefault(name)), InsecureRegistries.None, retry, trust: null, _log);
        await _connection.ConnectAsync(CancellationToken.None);
        var client = _connection.Client;
        return client;
    }

    private static bool IsPing(HttpRequestMessage request) => request.RequestUri!.AbsolutePath == "/v2/";

    // A HEAD for a blob the registry holds: 200 with the blob's length.
    private static HttpResponseMessage Exists() => new(HttpStatusCode.OK) { Content = new ByteArrayContent(new byte[Blob.Size]) };

    [Fact]
    public async Task ServerErrorsAreTriedAgainWithGrowingWaitsUntilAnAnswerComes()
    {
        var heads = 0;
        var handler = new ScriptedHandler((request, _) =>
            IsPing(request) ? ScriptedHandler.Status(HttpStatusCode.OK)
            : ++heads <= 2 ? ScriptedHandler.Status(HttpStatusCode.ServiceUnavailable)
            : Exists());
        var client = await ConnectAsync(handler);

        Assert.True(await client.BlobExistsAsync(Blob, CancellationToken.None));
        Assert.Equal(3, heads);
        Assert.Equal([TimeSpan.FromSeconds(0.25), TimeSpan.FromSeconds(0.5)], _delays);
        Assert.All(handler.Seen, r => Assert.Equal("https", r.Uri.Scheme));
    }

    [Fact]
    public async Task RetryAfterOfA429IsWhatTheClientWaits()
    {
        var heads = 0;
        var handler = new ScriptedHandler((request, _) =>
        {
            if (IsPing(request))
            {
                return ScriptedHandler.Status(HttpStatusCode.OK);
            }

            if (++heads > 1)
            {
                return ScriptedHandler.Status(HttpStatusCode.NotFound);
            }

            var throttled = ScriptedHandler.Status(HttpStatusCode.TooManyRequests);
            throttled.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(7));
            return throttled;
        });
        var client = await ConnectAsync(handler);

        Assert.False(await client.BlobExistsAsync(Blob, CancellationToken.None));
        Assert.Equal([TimeSpan.FromSeconds(7)], _delays);
    }

    [Fact]
    public async Task AServerErrorThatStaysIsNIXIMG035AfterFiveTries()
    {
        var handler = new ScriptedHandler((request, _) => IsPing(request)
            ? ScriptedHandler.Status(HttpStatusCode.OK)
            : ScriptedHandler.Status(HttpStatusCode.InternalServerError, """{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}"""));
        var client = await ConnectAsync(handler);

        var error = await Assert.ThrowsAsync<NixImageException>(() => client.BlobExistsAsync(Blob, CancellationToken.None));
        Assert.Equal(ErrorCodes.RegistryRequestFailed, error.Code);
        Assert.Contains("registry.example.com", error.Message, StringComparison.Ordinal);
        Assert.Contains("check blob", error.Message, StringComparison.Ordinal);
        Assert.Contains("500", error.Message, StringComparison.Ordinal);
        Assert.Contains("UNKNOWN: disk on fire", error.Message, StringComparison.Ordinal);
        Assert.Contains("after 5 tries", error.Message, StringComparison.Ordinal);
        Assert.Equal(4, _delays.Count);
        Assert.Equal(5, handler.Seen.Count(r => r.Method == HttpMethod.Head));
    }

    [Fact]
    public async Task OtherClientErrorsAreAnswersAndNotTriedAgain()
    {
        var handler = new ScriptedHandler((request, _) => IsPing(request)
            ? ScriptedHandler.Status(HttpStatusCode.OK)
            : ScriptedHandler.Status(HttpStatusCode.BadRequest, """{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}"""));
        var client = await ConnectAsync(handler);
        var manifest = new ImageBlob(new Descriptor(MediaTypes.OciManifest, Digest.Of("{}"u8), 2), () => new MemoryStream("{}"u8.ToArray()));

        var error = await Assert.ThrowsAsync<NixImageException>(() => client.PutManifestAsync(manifest, "latest", CancellationToken.None));
        Assert.Equal(ErrorCodes.RegistryRequestFailed, error.Code);
        Assert.Contains("MANIFEST_INVALID", error.Message, StringComparison.Ordinal);
        Assert.Empty(_delays);
        Assert.Single(handler.Seen, r => r.Method == HttpMethod.Put);
    }

    [Fact]
    public async Task ABrokenConnectionThatStaysIsNIXIMG033()
    {
        var handler = new ScriptedHandler((_, _) => throw new HttpRequestException("reset", new IOException("Connection reset by peer")));
        var error = await Assert.ThrowsAsync<NixImageException>(() => ConnectAsync(handler));
        Assert.Equal(ErrorCodes.RegistryUnreachable, error.Code);
        Assert.Contains("Connection reset by peer", error.Message, StringComparison.Ordinal);
        Assert.Equal(4, _delays.Count);
    }

    [Fact]
    public async Task BearerChallengeIsAnsweredWithATokenForThePushScopeAndTheTokenIsReused()
    {
        _environment[CredentialStore.UserNameVariable] = "ci";
        _environment[CredentialStore.PasswordVariable] = "s3cret-value";
        var handler = new ScriptedHandler((request, _) =>
        {
            if (request.RequestUri!.Host == "auth.example.com")
            {
                return ScriptedHandler.Status(HttpStatusCode.OK, """{"token":"tok-1","expires_in":300}""");
            }

            if (request.Headers.Authorization?.ToString() == "Bearer tok-1")
            {
                return Exists();
            }

            var challenge = ScriptedHandler.Status(HttpStatusCode.Unauthorized);
            challenge.Headers.TryAddWithoutValidation("WWW-Authenticate", """Bearer realm="https://auth.example.com/token",service="registry.example.com" """);
            return challenge;
        });
        var client = await ConnectAsync(handler);

        Assert.True(await client.BlobExistsAsync(Blob, CancellationToken.None));
        Assert.True(await client.BlobExistsAsync(Blob, CancellationToken.None));

        var tokenRequests = handler.Seen.Where(r => r.Uri.Host == "auth.example.com").ToList();
        var tokenRequest = Assert.Single(tokenRequests);
        Assert.Contains("service=registry.example.com", tokenRequest.Uri.Query, StringComparison.Ordinal);
        Assert.Contains("scope=repository%3Ateam%2Fapp%3Apull%2Cpush", tokenRequest.Uri.Query, StringComparison.Ordinal);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("ci:s3cret-value")), tokenRequest.Authorization);
        Assert.Equal(2, handler.Seen.Count(r => r.Authorization == "Bearer tok-1"));
        Assert.DoesNotContain(_log.Lines, l => l.Contains("s3cret-value", StringComparison.Ordinal) || l.Contains("tok-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ATokenRequestCarriesOnlyTheBuildsScopeNotOneTheChallengeNames()
    {
        var handler = new ScriptedHandler((request, _) =>
        {
            if (request.RequestUri!.Host == "auth.example.com")
            {
                return ScriptedHandler.Status(HttpStatusCode.OK, """{"token":"tok-1","expires_in":300}""");
            }

            if (request.Headers.Authorization?.ToString() == "Bearer tok-1")
            {
                return Exists();
            }

            var challenge = ScriptedHandler.Status(HttpStatusCode.Unauthorized);
            challenge.Headers.TryAddWithoutValidation("WWW-Authenticate", """Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:other/secret:pull,push registry:catalog:*" """);
            return challenge;
        });
        var client = await ConnectAsync(handler);

        Assert.True(await client.BlobExistsAsync(Blob, CancellationToken.None));

        var tokenRequest = Assert.Single(handler.Seen, r => r.Uri.Host == "auth.example.com");
        Assert.Contains("scope=repository%3Ateam%2Fapp%3Apull%2Cpush", tokenRequest.Uri.Query, StringComparison.Ordinal);
        Assert.DoesNotContain("other", tokenRequest.Uri.Query, StringComparison.Ordinal);
        Assert.DoesNotContain("catalog", tokenRequest.Uri.Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnEndlessTokenAnswerStopsAt4MiBAsNiximg035()
    {
        var handler = new ScriptedHandler((request, _) =>
        {
            if (request.RequestUri!.Host == "auth.example.com")
            {
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new EndlessStream()) };
            }

            var challenge = ScriptedHandler.Status(HttpStatusCode.Unauthorized);
            challenge.Headers.TryAddWithoutValidation("WWW-Authenticate", """Bearer realm="https://auth.example.com/token",service="registry.example.com" """);
            return challenge;
        });
        var client = await ConnectAsync(handler);

        var error = await Assert.ThrowsAsync<NixImageException>(() => client.BlobExistsAsync(Blob, CancellationToken.None));

        Assert.Equal(ErrorCodes.RegistryRequestFailed, error.Code);
        Assert.Contains("4194304 bytes", error.Message, StringComparison.Ordinal);
    }

    /// <summary>'{' and then spaces for ever.</summary>
    private sealed class EndlessStream : Stream
    {
        private bool _started;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            Array.Fill(buffer, (byte)' ', offset, count);
            if (!_started && count > 0)
            {
                buffer[offset] = (byte)'{';
                _started = true;
            }

            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task WrongBasicCredentialsAreNIXIMG031NamingRegistryRepositoryAndUserButNotThePassword()
    {
        _environment[CredentialStore.UserNameVariable] = "ci";
        _environment[CredentialStore.PasswordVariable] = "wrong-password-value";
        var handler = new ScriptedHandler((_, _) =>
        {
            var challenge = ScriptedHandler.Status(HttpStatusCode.Unauthorized);
            challenge.Headers.TryAddWithoutValidation("WWW-Authenticate", """Basic realm="registry" """);
            return challenge;
        });
        var client = await ConnectAsync(handler);

        var error = await Assert.ThrowsAsync<NixImageException>(() => client.BlobExistsAsync(Blob, CancellationToken.None));
        Assert.Equal(ErrorCodes.RegistryAuthenticationFailed, error.Code);
        Assert.Contains("registry.example.com", error.Message, StringComparison.Ordinal);
        Assert.Contains("team/app", error.Message, StringComparison.Ordinal);
        Assert.Contains("user 'ci'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password-value", error.Message, StringComparison.Ordinal);
        Assert.Empty(_delays);
    }

    [Fact]
    public async Task ATokenServiceOverPlainHttpElsewhereIsRefusedBeforeCredentialsAreSent()
    {
        _environment[CredentialStore.UserNameVariable] = "ci";
        _environment[CredentialStore.PasswordVariable] = "s3cret-value";
        var handler = new ScriptedHandler((_, _) =>
        {
            var challenge = ScriptedHandler.Status(HttpStatusCode.Unauthorized);
            challenge.Headers.TryAddWithoutValidation("WWW-Authenticate", """Bearer realm="http://auth.example.com/token",service="registry.example.com" """);
            return challenge;
        });
        var client = await ConnectAsync(handler);

        var error = await Assert.ThrowsAsync<NixImageException>(() => client.BlobExistsAsync(Blob, CancellationToken.None));
        Assert.Equal(ErrorCodes.RegistryAuthenticationFailed, error.Code);
        Assert.Contains("plain HTTP", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(handler.Seen, r => r.Uri.Host == "auth.example.com");
    }
}
