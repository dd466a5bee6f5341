using System.Formats.Tar;
using System.Net;
using System.Text;
using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Registry;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Registry;

/// <summary>
/// A base image pulled from a registry that lies: bodies longer than declared, endless manifests, trickles, malformed
/// documents, redirects out of HTTP, a full disk under the layer cache. Each ends in a coded input error (never
/// NIXIMG099), within its bounds of time, memory and disk.
/// </summary>
public sealed class HostilePullTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(500);
    private static readonly Platform Amd64 = Platform.FromNixSystem("x86_64-linux");

    private readonly TempDirectory _cache = new("nixery-hostile-pull");
    private readonly RecordingLog _log = new();
    private readonly Dictionary<string, Func<HttpRequestMessage, HttpResponseMessage>> _routes = new(StringComparer.Ordinal);
    private readonly byte[] _layer;
    private readonly Descriptor _layerDescriptor;
    private readonly List<string> _requests = [];

    public HostilePullTests()
    {
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.Directory, "etc/"));
        }

        _layer = tar.ToArray();
        _layerDescriptor = new Descriptor(MediaTypes.OciLayer, Digest.Of(_layer), _layer.Length);
        var config = Config(Digest.Of(_layer).Value);
        Manifest("1", ManifestJson(Digest.Of(config), config.Length, _layerDescriptor));
        Blob(config);
        Blob(_layer);
    }

    public void Dispose() => _cache.Dispose();

    [Fact]
    public async Task BlobLongerThanDeclaredStopsOneByteAfterTheDeclaredSizeAsNiximg035()
    {
        var endless = new CountingStream(_layer, endless: true);
        _routes[BlobPath(_layerDescriptor.Digest)] = _ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(endless) };

        var error = await Assert.ThrowsAsync<NixImageException>(PullAsync);

        Assert.Equal(ErrorCodes.RegistryRequestFailed, error.Code);
        Assert.Contains($"more than {_layer.Length} bytes", error.Message, StringComparison.Ordinal);
        Assert.True(endless.Served < _layer.Length + (256 << 10), $"{endless.Served} bytes read");
        Assert.DoesNotContain(Directory.EnumerateFiles(_cache.Path, "*", SearchOption.AllDirectories), f => new FileInfo(f).Length > _layer.Length);
    }

    [Fact]
    public async Task EndlessManifestStopsAt4MiBAsNiximg035NotUnreachable()
    {
        var endless = new CountingStream("{\"a\":\""u8.ToArray(), endless: true);
        _routes["/v2/team/base/manifests/1"] = request => new HttpResponseMessage(HttpStatusCode.OK) { Content = request.Method == HttpMethod.Head ? new ByteArrayContent([]) : new StreamContent(endless) };

        // A timeout no loaded machine reaches: the answer must end at its size, not at its deadline.
        var error = await Assert.ThrowsAsync<NixImageException>(() => PullAsync(new Store(new BlobStore(_cache.Path)), TimeSpan.FromMinutes(1)));

        Assert.Equal(ErrorCodes.RegistryRequestFailed, error.Code);
        Assert.True(endless.Served < RegistryRequest.MaxAnswerSize + (256 << 10), $"{endless.Served} bytes read");
        Assert.Single(_requests, r => r.EndsWith("/manifests/1", StringComparison.Ordinal) && r.StartsWith("GET", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TricklingBlobFailsEachTryAtTheTimeoutSaysSoAndIsNiximg033()
    {
        _routes[BlobPath(_layerDescriptor.Digest)] = _ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new TrickleStream(_layer, TimeSpan.FromMilliseconds(20))) };
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<NixImageException>(PullAsync);

        Assert.Equal(ErrorCodes.RegistryUnreachable, error.Code);
        Assert.Contains("no progress", error.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), clock.Elapsed.ToString());
        Assert.Contains(_log.Lines, l => l.Contains("download broke off (no progress for 0.5 s)", StringComparison.Ordinal) && l.Contains("try 1 of 3", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("manifest served as an index", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{},"layers":[]}""")]
    [InlineData("index without manifests", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json"}""")]
    [InlineData("index whose manifests is an object", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":{}}""")]
    [InlineData("platform that is a string", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2,"platform":"linux/amd64"}]}""")]
    [InlineData("index entry digest with '..'", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../etc/passwd","size":2,"platform":{"os":"linux","architecture":"amd64"}}]}""")]
    [InlineData("layer digest with '..'", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:../../etc/passwd","size":2}]}""")]
    [InlineData("negative layer size", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":-5}]}""")]
    [InlineData("size that is a string", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":"2"},"layers":[]}""")]
    [InlineData("layers that is a number", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},"layers":7}""")]
    [InlineData("media type that is a number", """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":1,"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},"layers":[]}""")]
    [InlineData("manifest that is an array", """[1,2,3]""")]
    [InlineData("schema version that is not a whole number", """{"schemaVersion":1.5,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}""")]
    public async Task MalformedManifestOrIndexIsNiximg046(string what, string json)
    {
        Manifest("1", Encoding.UTF8.GetBytes(json));

        var error = await Assert.ThrowsAsync<NixImageException>(PullAsync);

        Assert.True(error.Code == ErrorCodes.BaseImageUnusable, $"{what}: {error.Code} {error.Message}");
        Assert.DoesNotContain(_requests, r => r.Contains("..", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ABaseOfMoreThan125LayersIsNiximg009BeforeAnyLayerIsDownloaded()
    {
        var layers = string.Join(',', Enumerable.Range(0, 126).Select(i => $$"""{"mediaType":"{{MediaTypes.OciLayer}}","digest":"{{Digest.Of([(byte)i])}}","size":1}"""));
        Manifest("1", Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","config":{"mediaType":"{{MediaTypes.OciConfig}}","digest":"{{Digest.Of([])}}","size":0},"layers":[{{layers}}]}"""));

        var error = await Assert.ThrowsAsync<NixImageException>(PullAsync);

        Assert.Equal(ErrorCodes.LayerLimit, error.Code);
        Assert.Contains("126 layers, too many to build on", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_requests, r => r.Contains("/blobs/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AConfigDeclaredOver4MiBIsNiximg046BeforeItIsDownloaded()
    {
        Manifest("1", ManifestJson(Digest.Of([]), 5 << 20, _layerDescriptor));

        var error = await Assert.ThrowsAsync<NixImageException>(PullAsync);

        Assert.Equal(ErrorCodes.BaseImageUnusable, error.Code);
        Assert.DoesNotContain(_requests, r => r.Contains("/blobs/", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("config that is an array", "[]")]
    [InlineData("os that is a number", """{"os":1,"architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}""")]
    [InlineData("diff_ids that is a string", """{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":"x"}}""")]
    [InlineData("diff_id with '..'", """{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":["sha256:../x"]}}""")]
    [InlineData("no rootfs", """{"os":"linux","architecture":"amd64"}""")]
    public async Task MalformedConfigIsNiximg046(string what, string json)
    {
        var config = Encoding.UTF8.GetBytes(json);
        Blob(config);
        Manifest("1", ManifestJson(Digest.Of(config), config.Length, _layerDescriptor));

        var error = await Assert.ThrowsAsync<NixImageException>(PullAsync);

        Assert.True(error.Code == ErrorCodes.BaseImageUnusable, $"{what}: {error.Code} {error.Message}");
    }

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://127.0.0.1/blob")]
    public async Task RedirectOutOfHttpIsNiximg035(string location)
    {
        _routes[BlobPath(_layerDescriptor.Digest)] = _ =>
        {
            var redirect = new HttpResponseMessage(HttpStatusCode.TemporaryRedirect);
            redirect.Headers.TryAddWithoutValidation("Location", location);
            return redirect;
        };

        var error = await Assert.ThrowsAsync<NixImageException>(PullAsync);

        Assert.Equal(ErrorCodes.RegistryRequestFailed, error.Code);
        Assert.Contains("not an http or https URL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FullDiskUnderTheLayerCacheIsNiximg012AndNotTriedAgain()
    {
        var store = new FailingStore(new BlobStore(_cache.Path), new IOException("No space left on device"));

        var error = await Assert.ThrowsAsync<NixImageException>(() => PullAsync(store));

        Assert.Equal(ErrorCodes.WriteFailed, error.Code);
        Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);
        Assert.Single(_requests, r => r == "GET " + BlobPath(_layerDescriptor.Digest));
    }

    [Fact]
    public async Task LayerCacheWithoutPermissionIsNiximg012AndNotTriedAgain()
    {
        var store = new FailingStore(new BlobStore(_cache.Path), new UnauthorizedAccessException("Access to the path is denied."));

        var error = await Assert.ThrowsAsync<NixImageException>(() => PullAsync(store));

        Assert.Equal(ErrorCodes.WriteFailed, error.Code);
        Assert.Single(_requests, r => r == "GET " + BlobPath(_layerDescriptor.Digest));
    }

    private Task<PulledImage> PullAsync() => PullAsync(new Store(new BlobStore(_cache.Path)));

    private async Task<PulledImage> PullAsync(IPulledBlobs store, TimeSpan? timeout = null)
    {
        var retry = new RetryPolicy { MaxAttempts = 3, Jitter = () => 0, Delay = (_, _) => Task.CompletedTask };
        var puller = new ImagePuller(_log, new Registry(this), new PushOptions { Retry = retry });
        var request = new PullRequest { Image = ImageReference.Parse("registry.example.com/team/base:1"), Platform = Amd64, Timeout = timeout ?? Timeout };
        return await puller.PullAsync(request, store, CancellationToken.None);
    }

    private static byte[] Config(string diffId) =>
        Encoding.UTF8.GetBytes($$"""{"os":"linux","architecture":"amd64","config":{},"rootfs":{"type":"layers","diff_ids":["{{diffId}}"]""" + "}}");

    private static byte[] ManifestJson(Digest config, long configSize, Descriptor layer) => Encoding.UTF8.GetBytes(
        $$"""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{config}}","size":{{configSize}}},"layers":[{"mediaType":"{{layer.MediaType}}","digest":"{{layer.Digest}}","size":{{layer.Size}}""" + "}]}");

    private static string BlobPath(Digest digest) => $"/v2/team/base/blobs/{digest}";

    private void Manifest(string tag, byte[] json) => _routes[$"/v2/team/base/manifests/{tag}"] = request =>
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(request.Method == HttpMethod.Head ? [] : json) };
        response.Headers.TryAddWithoutValidation("Docker-Content-Digest", Digest.Of(json).Value);
        return response;
    };

    private void Blob(byte[] content) => _routes[BlobPath(Digest.Of(content))] = _ => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(content) };

    /// <summary>The registry, as an HTTP stack: <c>/v2/</c> answers, the routes the test set, else 404.</summary>
    private sealed class Registry(HostilePullTests test) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var path = request.RequestUri!.AbsolutePath;
            lock (test._requests)
            {
                test._requests.Add($"{request.Method} {path}");
            }

            var response = path == "/v2/" ? new HttpResponseMessage(HttpStatusCode.OK)
                : test._routes.TryGetValue(path, out var route) ? route(request)
                : new HttpResponseMessage(HttpStatusCode.NotFound);
            response.RequestMessage = request;
            return Task.FromResult(response);
        }
    }

    /// <summary>The layer cache's blob store as a pull's store.</summary>
    private class Store(BlobStore store) : IPulledBlobs
    {
        public ImageBlob? Find(Digest digest, long? size, string mediaType)
        {
            var file = new FileInfo(store.PathOf(digest));
            return file.Exists && (size is null || file.Length == size) ? store.Blob(new Descriptor(mediaType, digest, file.Length)) : null;
        }

        public virtual Task<bool> AddAsync(Descriptor descriptor, Func<Stream, CancellationToken, Task<bool>> download, CancellationToken cancellationToken) =>
            store.AddAsync(descriptor, download, cancellationToken);
    }

    /// <summary>A store whose layer writes fail as a full disk or a folder without permission fails them.</summary>
    private sealed class FailingStore(BlobStore store, Exception failure) : Store(store)
    {
        public override Task<bool> AddAsync(Descriptor descriptor, Func<Stream, CancellationToken, Task<bool>> download, CancellationToken cancellationToken) =>
            descriptor.MediaType == MediaTypes.OciLayer
                ? download(new FailingWrites(failure), cancellationToken)
                : base.AddAsync(descriptor, download, cancellationToken);
    }

    private sealed class FailingWrites(Exception failure) : MemoryStream
    {
        public override void Write(byte[] buffer, int offset, int count) => throw failure;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => throw failure;
    }

    /// <summary>Gives <c>prefix</c>, then (when endless) 'a' for ever; counts what was read.</summary>
    private sealed class CountingStream(byte[] prefix, bool endless) : Stream
    {
        public long Served { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = 0;
            while (n < count && Served < prefix.Length)
            {
                buffer[offset + n++] = prefix[Served++];
            }

            if (endless && n < count)
            {
                Array.Fill(buffer, (byte)'a', offset + n, count - n);
                Served += count - n;
                n = count;
            }

            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>One byte every <c>pause</c>, honouring cancellation.</summary>
    private sealed class TrickleStream(byte[] content, TimeSpan pause) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= content.Length || buffer.Length == 0)
            {
                return 0;
            }

            await Task.Delay(pause, cancellationToken);
            buffer.Span[0] = content[_position++];
            return 1;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
